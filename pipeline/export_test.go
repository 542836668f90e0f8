package pipeline

// The ingest tests drive the core below Pipeline.Ingest directly, with
// their own rules and thresholds per call.
type IngestConfig = ingestConfig

var IngestSources = ingestSources
