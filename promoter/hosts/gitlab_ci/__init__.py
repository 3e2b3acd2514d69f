"""GitLab CI: scheduled, web/API and webhook-triggered pipelines, a dotenv report out."""
