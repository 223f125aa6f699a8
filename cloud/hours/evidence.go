package hours

// Evidence is what proves a manual entry (补录, 民政部令第67号 Art. 13),
// as the manual ledger writes it into store.ServiceRecord.Evidence
// (JSON): a note of what happened and who saw it, and the files kept
// with the record (a photo, a scan of the sign-in sheet). An entry
// without either is refused.
type Evidence struct {
	Note  string         `json:"note,omitempty"`
	Files []EvidenceFile `json:"files,omitempty"`
}

// EvidenceFile describes one stored file: its ID (the store's
// manual_evidence row), name as uploaded, sniffed type, size in bytes
// and SHA-256 (hex).
type EvidenceFile struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Empty reports whether there is no evidence at all.
func (e Evidence) Empty() bool { return e.Note == "" && len(e.Files) == 0 }
