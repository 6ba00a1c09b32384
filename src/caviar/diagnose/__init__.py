"""Diagnosis of trained models: naive baseline and verdict (seed 004 "Pragmatics")."""
