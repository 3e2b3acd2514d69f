"""CI hosts: each reads its environment into one typed context and writes outputs its way."""
