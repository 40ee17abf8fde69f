"""The inputs: their schema, strict vectorised readers, the activity funnel, the two shapes of
activity, the catalogue of listed jobs and profiles, object-storage inputs and the demo data."""
