package pipeline

// The ingest tests drive the core below Pipeline.Ingest directly, with
// their own rules and thresholds per call.
type IngestConfig = ingestConfig

var IngestSources = ingestSources

// StageJoiners turns the staging of joiners on or off until the test ends.
func StageJoiners(t interface{ Cleanup(func()) }, on bool) {
	old := stageJoiners
	stageJoiners = on
	t.Cleanup(func() { stageJoiners = old })
}

// StagedJoiners is how many joiners a plan staged on disk.
func StagedJoiners(p *Plan) int { return p.stagedJoined }
