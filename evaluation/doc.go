// Package evaluation computes a provider's evaluation score for a quarter (SPEC: Evaluation;
// SH 33–34, SD 36–37): four indicators, each with points 0–100 when it has data, weighted by
// the scheme in force and redistributed over the indicators that have data. It is a pure,
// deterministic function: the arithmetic is exact (rational numbers) and rounded half-up to
// two decimals only at the end, so every node and every rerun gets the same score. The
// ledger gathers the data (request steps, daily rows, survey answers, the expert score) and
// calls Compute inside apply when a quarter is published, and for drafts when it is read.
package evaluation
