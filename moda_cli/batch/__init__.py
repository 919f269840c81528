"""Batch production: plan jobs from a folder or manifest (plan), resolve them into jobs
ready to run (jobs), check their inputs before rendering any (preflight), run each one
(execute) on an executor (executors), keep them resumable and exclusive (state), all
driven by run; then report (report)."""
