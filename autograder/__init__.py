"""The grading framework: build, check, grade, sandbox, reports, Gradescope."""
