"""Batch production: plan jobs from a folder or manifest, preflight, render, report."""

from .plan import BatchPlan, JobSpec, assign_outputs, plan_folder, plan_inputs, plan_manifest
from .report import build_report, write_report
from .run import BatchEvents, BatchOptions, BatchOutcome, JobRecord, run_batch

__all__ = [
    "BatchEvents", "BatchOptions", "BatchOutcome", "BatchPlan", "JobRecord", "JobSpec",
    "assign_outputs", "build_report", "plan_folder", "plan_inputs", "plan_manifest",
    "run_batch", "write_report",
]
