package lifecycle

import "encoding/json"

// Event kinds recorded by ingest.
const (
	PersonJoined    = "person.joined"
	PersonChanged   = "person.changed"
	PersonLeft      = "person.left"
	ContractAdded   = "contract.added"
	ContractChanged = "contract.changed"
	ContractEnded   = "contract.ended"
	ContractRemoved = "contract.removed"
	RowWarning      = "row.warning"
	// PersonHeld: the person is gone from a snapshot (or flagged deleted),
	// but a rejected row names its employee number, so the removal waits.
	PersonHeld = "person.held"
	Force      = "force"
)

// Event is one entry of the event log.
type Event struct {
	ID             int64          `json:"id"`
	Time           string         `json:"time"`
	RunID          int64          `json:"run_id"`
	Actor          string         `json:"actor"`
	Source         string         `json:"source"`
	Kind           string         `json:"kind"`
	EmployeeNumber string         `json:"employee_number"`
	Details        map[string]any `json:"details"`
	// Lazy, set instead of Details, renders the details when the event
	// is written: a first ingest's 100k joiners hold a few pointers each
	// instead of a map apiece.
	Lazy json.Marshaler `json:"-"`
}
