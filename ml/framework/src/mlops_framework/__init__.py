"""The platform's ML framework: the generic jobs of one ML project, for Databricks jobs and local runs.

Each project's wheel carries its own copy, as `<package>._framework` (docs/ml.md, "Projects").
"""
