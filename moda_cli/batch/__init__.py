"""Batch production: plan jobs from a folder or manifest (plan), keep them resumable and
exclusive (state), run them on an executor (run), and report (report)."""
