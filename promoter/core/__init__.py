"""Pure logic: run models, the criteria language, selection and the champion; no I/O."""
