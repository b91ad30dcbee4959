package pipeline

// Triage lets the external benchmarks run a stage's triage as runStage does.
var Triage = triage
