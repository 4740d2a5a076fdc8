//! Issue 5: filled in by the work on the chart.
