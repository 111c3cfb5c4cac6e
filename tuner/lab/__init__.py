"""The controlled transfer lab: a seeded fictional world, two corpora, bridges, probes and their density."""
