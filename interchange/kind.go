package interchange

import (
	"fmt"
	"path/filepath"
	"strings"
)

// FileKind names an interchange file kind (SPEC.md, "Interchange formats").
type FileKind string

// The kinds that decode into ledger commands.
const (
	KindDepartments FileKind = "departments"
	KindProviders   FileKind = "providers"
	KindProjects    FileKind = "projects"
	KindCatalog     FileKind = "catalog"
	KindEvents      FileKind = "events"
	KindEvaluations FileKind = "evaluations"
	// KindUtilisation is a utilisation report (SPEC: Utilisation): daily rows of resources,
	// applied as deliveries of many rows, each one line item.
	KindUtilisation FileKind = "utilisation"
)

// KindInvoice is a provider's invoice (SPEC.md, Settlement: month, department, project,
// item, amount). Its rows are checked against the rated charges, never applied: they decode
// into Row.Invoice, not a command, and the kind is not among Kinds (nothing imports it).
const KindInvoice FileKind = "invoice"

// Kinds lists every kind this package decodes, in the order an initial load applies them.
func Kinds() []FileKind {
	return []FileKind{KindDepartments, KindProviders, KindProjects, KindCatalog, KindEvaluations, KindEvents, KindUtilisation}
}

// ParseKind returns the Kind named s.
func ParseKind(s string) (FileKind, error) {
	for _, k := range Kinds() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("interchange: unknown kind %s (want departments, providers, projects, catalog, evaluations, events or utilisation)", echo(s))
}

// Format is an interchange file format.
type Format string

const (
	FormatCSV   Format = "csv"   // UTF-8 CSV with a header row
	FormatJSONL Format = "jsonl" // one JSON object per line, the CSV column names as fields
)

// FormatFor returns the format of a file from its extension: .csv is CSV; .jsonl, .ndjson
// and .json are JSON lines.
func FormatFor(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return FormatCSV, nil
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL, nil
	case ".xlsx":
		return FormatXLSX, nil
	}
	return "", fmt.Errorf("interchange: %s: unknown file type (want .csv, .xlsx, .jsonl, .ndjson or .json)", path)
}

// columnSet is the SPEC column order of a kind, then its optional trailing columns.
type columnSet struct {
	required []string
	optional []string
}

var columnSets = map[FileKind]columnSet{
	KindDepartments: {required: []string{"department", "name", "parent", "funding"}},
	KindProviders:   {required: []string{"provider", "name", "contract_start", "contract_end"}},
	KindProjects:    {required: []string{"project", "department", "name", "quota_class", "quota"}},
	KindCatalog: {
		required: []string{"item", "name", "category", "unit", "billing", "quota_class", "price", "provider", "effective_from"},
		optional: []string{"proration"}, // daily | monthly, empty → daily (RATING_DEFAULTS.md)
	},
	KindEvaluations: {required: []string{"provider", "from", "to", "score"}, optional: []string{"reason"}}, // why entered by hand
	KindEvents:      {required: []string{"key", "time", "op", "department", "project", "provider", "resource", "item", "kind", "quantity", "expires"}},
	KindInvoice:     {required: []string{"month", "department", "project", "item", "amount"}},
	KindUtilisation: {required: []string{"resource", "date", "mean_pct", "peak_pct", "availability_pct"}},
}

// Columns returns the columns of a kind in SPEC order, for writers and docs; nil for an
// unknown kind. Optional columns come last (catalog's proration, evaluations' reason). A reader
// requires every other column in the header.
func Columns(kind FileKind) []string {
	cs, ok := columnSets[kind]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(cs.required)+len(cs.optional))
	return append(append(out, cs.required...), cs.optional...)
}

// RequiredColumns returns the columns a header of the kind must contain.
func RequiredColumns(kind FileKind) []string {
	return append([]string(nil), columnSets[kind].required...)
}

// isMasterData reports whether rows of the kind get keys made from the file and line.
func (k FileKind) isMasterData() bool { return k != KindEvents && k != KindInvoice }

// numericFields may be JSON numbers in JSON lines (their exact text is kept).
var numericFields = map[string]bool{"quantity": true, "price": true, "quota": true, "score": true, "amount": true,
	"mean_pct": true, "peak_pct": true, "availability_pct": true}

// The columns of the files CloudLedger writes (SPEC.md, Rating and Settlement). They are
// declared here, with the files it reads, so that the ledger and ledgerctl share them.
var (
	// ChargeColumns are charges.csv's.
	ChargeColumns = []string{"month", "department", "project", "provider", "item", "billing", "quantity", "unit", "base_amount", "multiplier", "amount"}
	// StatementColumns are a monthly statement CSV's.
	StatementColumns = []string{"section", "department", "project", "provider", "item", "resource", "kind", "unit", "quantity", "base_amount", "amount",
		"mean_pct", "peak_pct", "availability_pct", "days_with_data", "findings", "advice"}
	// ReconciliationColumns are an invoice reconciliation report CSV's.
	ReconciliationColumns = []string{"outcome", "department", "project", "item", "invoiced", "rated", "difference", "invoice_line", "note"}
)
