package apimap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/settlement"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
)

// decoded is a row of a file as the ledger reads it: decoded by interchange, then mapped.
type decoded struct {
	Line    int
	Command ledger.Command
	Invoice *settlement.InvoiceLine
}

// mapRow maps a decoded row as the ledger does: the API command through Command, an invoice
// line through invoiceLine (against the month it names).
func mapRow(name string, row Row) (decoded, *RowError) {
	out := decoded{Line: row.Line}
	var err *errcode.Error
	if row.Invoice != nil {
		month, _ := calendar.ParseMonth(row.Invoice.GetMonth())
		var l settlement.InvoiceLine
		if l, err = invoiceLine(row.Invoice, month); err == nil {
			out.Invoice = &l
		}
	} else {
		out.Command, err = Command(row.Command)
	}
	if err != nil {
		return decoded{}, &RowError{File: name, Line: row.Line, Field: err.Field, Code: err.Code, Message: err.Message}
	}
	return out, nil
}

// decodeAll runs a decoder over input to the end, mapping each row.
func decodeAll(t testing.TB, kind FileKind, format Format, input string) (rows []decoded, errs []*RowError, headerErr error) {
	t.Helper()
	d, err := NewDecoder(kind, string(kind)+"."+string(format), strings.NewReader(input), format, "f00d")
	if err != nil {
		return nil, nil, err
	}
	for i := 0; ; i++ {
		if i > 1_000_000 {
			t.Fatal("decoder does not end")
		}
		row, rerr, ok := d.Next()
		if !ok {
			if rerr != nil {
				t.Fatalf("ok=false with an error: %v", rerr)
			}
			return rows, errs, nil
		}
		if rerr == nil {
			var r decoded
			if r, rerr = mapRow(string(kind)+"."+string(format), row); rerr == nil {
				rows = append(rows, r)
				continue
			}
		}
		errs = append(errs, rerr)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.In(calendar.Shanghai)
}

func date(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestGoodFiles: SPEC.md, Interchange formats — a good file of each kind decodes without
// errors, and its CSV and JSON-lines forms give identical commands.
func TestGoodFiles(t *testing.T) {
	want := map[FileKind][]ledger.Body{
		KindDepartments: {
			&ledger.SetDepartment{Department: ledger.Department{ID: "d.finance", Name: "市财政局", Funding: ledger.FundingBudget}},
			&ledger.SetDepartment{Department: ledger.Department{ID: "d.health", Name: "市卫健委", Funding: ledger.FundingBudget}},
			&ledger.SetDepartment{Department: ledger.Department{ID: "d.health.cdc", Name: "市疾控中心", Parent: "d.health", Funding: ledger.FundingSelf}},
		},
		KindProviders: {
			&ledger.SetProvider{Provider: ledger.Provider{ID: "p.telecom", Name: "中国电信", ContractStart: date("2025-01-01"), ContractEnd: date("2027-12-31")}},
			&ledger.SetProvider{Provider: ledger.Provider{ID: "p.unicom", Name: "中国联通", ContractStart: date("2025-07-01"), ContractEnd: date("2026-06-30")}},
		},
		KindProjects: {
			&ledger.SetProjectQuota{Project: "prj.hr", Department: "d.finance", Name: "人事系统", QuotaClass: "vcpu", Quota: dec("64")},
			&ledger.SetProjectQuota{Project: "prj.hr", Department: "d.finance", Name: "人事系统", QuotaClass: "memory_gb", Quota: dec("256")},
			&ledger.SetProjectQuota{Project: "prj.ehr", Department: "d.health", Name: "电子健康档案, 二期", QuotaClass: "storage_gb", Quota: dec("10240.5")},
		},
		KindCatalog: {
			&ledger.SetCatalogPrice{Item: "ecs.vcpu", Name: "云服务器vCPU", Category: "IaaS", Unit: "核·月", Billing: ledger.BillingAllocation, QuotaClass: "vcpu",
				Proration: ledger.ProrationDaily, Price: dec("40"), EffectiveFrom: date("2025-01-01")},
			&ledger.SetCatalogPrice{Item: "ecs.vcpu", Name: "云服务器vCPU", Category: "IaaS", Unit: "核·月", Billing: ledger.BillingAllocation, QuotaClass: "vcpu",
				Proration: ledger.ProrationDaily, Price: dec("38.5"), Provider: "p.telecom", EffectiveFrom: date("2025-07-01")},
			&ledger.SetCatalogPrice{Item: "sec.waf", Name: "Web应用防火墙", Category: "安全", Unit: "套·月", Billing: ledger.BillingAllocation,
				Proration: ledger.ProrationMonthly, Price: dec("17402"), EffectiveFrom: date("2025-01-01")},
			&ledger.SetCatalogPrice{Item: "oss.egress", Name: "对象存储外网流出流量", Category: "IaaS", Unit: "GB", Billing: ledger.BillingMetered,
				Proration: ledger.ProrationDaily, Price: dec("0.5"), EffectiveFrom: date("2025-01-01")},
		},
		KindEvaluations: {
			&ledger.SetEvaluation{Provider: "p.telecom", From: day("2026-01-01"), To: day("2026-03-31"), Score: dec("92.5")},
			&ledger.SetEvaluation{Provider: "p.telecom", From: day("2026-04-01"), To: day("2026-06-30"), Score: dec("78")},
		},
		KindUtilisation: {
			&ledger.UtilisationDelivery{Rows: []ledger.UtilisationRow{{Resource: "vm-1", Date: day("2026-03-01"), Mean: dec("12.5"), Peak: dec("40"), Availability: dec("100")}}},
			&ledger.UtilisationDelivery{Rows: []ledger.UtilisationRow{{Resource: "vm-1", Date: day("2026-03-02"), Mean: dec("0"), Peak: dec("0"), Availability: dec("99.95")}}},
		},
		KindEvents: {
			&ledger.Event{Op: ledger.OpAllocate, Time: at("2026-01-02T10:00:00+08:00"), Department: "d.finance", Project: "prj.hr", Provider: "p.telecom",
				Resource: "vm-1", Item: "ecs.vcpu", Kind: ledger.KindStandard, Quantity: dec("8")},
			&ledger.Event{Op: ledger.OpExpand, Time: at("2026-01-05T10:00:00+08:00"), Resource: "vm-1", Quantity: dec("4")},
			&ledger.Event{Op: ledger.OpAllocate, Time: at("2026-01-06T09:00:00+08:00"), Department: "d.finance", Project: "prj.hr", Provider: "p.telecom",
				Resource: "vm-2", Item: "ecs.vcpu", Kind: ledger.KindTest, Quantity: dec("2"), Expires: at("2026-02-01T00:00:00+08:00")},
			&ledger.Event{Op: ledger.OpReduce, Time: at("2026-01-10T09:00:00+08:00"), Resource: "vm-1", Kind: ledger.KindStandard, Quantity: dec("2.5")},
			&ledger.Event{Op: ledger.OpUsage, Time: at("2026-01-12T09:00:00+08:00"), Department: "d.finance", Project: "prj.hr", Provider: "p.telecom",
				Resource: "bucket-1", Item: "oss.egress", Kind: ledger.KindStandard, Quantity: dec("12.75")},
			&ledger.Event{Op: ledger.OpExtend, Time: at("2026-01-15T09:00:00+08:00"), Resource: "vm-2", Expires: at("2026-02-05T00:00:00+08:00")},
			&ledger.Event{Op: ledger.OpReclaim, Time: at("2026-01-20T09:00:00+08:00"), Resource: "vm-1"},
		},
	}
	for _, kind := range Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			csvRows, csvErrs, err := decodeAll(t, kind, FormatCSV, readFile(t, filepath.Join("testdata", "good", string(kind)+".csv")))
			if err != nil || len(csvErrs) > 0 {
				t.Fatalf("csv: %v %v", err, csvErrs)
			}
			jsonRows, jsonErrs, err := decodeAll(t, kind, FormatJSONL, readFile(t, filepath.Join("testdata", "good", string(kind)+".jsonl")))
			if err != nil || len(jsonErrs) > 0 {
				t.Fatalf("jsonl: %v %v", err, jsonErrs)
			}
			if len(csvRows) != len(want[kind]) || len(jsonRows) != len(want[kind]) {
				t.Fatalf("rows: csv %d, jsonl %d, want %d", len(csvRows), len(jsonRows), len(want[kind]))
			}
			for i, w := range want[kind] {
				c, j := csvRows[i], jsonRows[i]
				wantEnc := ledger.EncodeBody(w)
				if got := ledger.EncodeBody(c.Command.Body); !bytes.Equal(got, wantEnc) {
					t.Errorf("csv row %d: got %+v, want %+v", i, c.Command.Body, w)
				}
				if got := ledger.EncodeBody(j.Command.Body); !bytes.Equal(got, wantEnc) {
					t.Errorf("jsonl row %d: got %+v, want %+v", i, j.Command.Body, w)
				}
				// Physical lines: CSV rows start after the header.
				if c.Line != i+2 || j.Line != i+1 {
					t.Errorf("row %d: lines csv %d jsonl %d", i, c.Line, j.Line)
				}
				if kind == KindEvents {
					if c.Command.Key != fmt.Sprintf("ev-%d", i+1) || j.Command.Key != c.Command.Key {
						t.Errorf("row %d: keys %q %q", i, c.Command.Key, j.Command.Key)
					}
				} else if c.Command.Key != fmt.Sprintf("%s:f00d:%d", kind, i+2) || j.Command.Key != fmt.Sprintf("%s:f00d:%d", kind, i+1) {
					t.Errorf("row %d: keys %q %q", i, c.Command.Key, j.Command.Key)
				}
				if err := ledger.ValidateCommand(c.Command); err != nil {
					t.Errorf("row %d: %v", i, err)
				}
			}
			if kind == KindEvents {
				// Times are in Asia/Shanghai whatever offset the file used.
				if _, off := csvRows[1].Command.Body.(*ledger.Event).Time.Zone(); off != 8*3600 {
					t.Errorf("time offset %d", off)
				}
			}
		})
	}
}

// TestOpenFile: SPEC.md, Interchange formats — re-running an import never duplicates: keys of
// master-data rows are "<kind>:<first 16 hex of the file's SHA-256>:<line>".
func TestOpenFile(t *testing.T) {
	path := filepath.Join("testdata", "good", "projects.csv")
	sum := sha256.Sum256([]byte(readFile(t, path)))
	fileID := hex.EncodeToString(sum[:])[:16]
	d, closer, err := OpenFile(KindProjects, path)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if d.FileID() != fileID {
		t.Fatalf("file id %s, want %s", d.FileID(), fileID)
	}
	row, rerr, ok := d.Next()
	if !ok || rerr != nil || row.Command.Key != "projects:"+fileID+":2" {
		t.Fatalf("first row %+v %v %v", row, rerr, ok)
	}
	// The same file again gives the same keys.
	d2, c2, err := OpenFile(KindProjects, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if row2, _, _ := d2.Next(); row2.Command.Key != row.Command.Key {
		t.Fatalf("keys differ: %s %s", row2.Command.Key, row.Command.Key)
	}
	if _, _, err := OpenFile(KindProjects, filepath.Join("testdata", "good", "projects.txt")); err == nil {
		t.Fatal("unknown extension accepted")
	}
	if _, _, err := OpenFile("evaluations", path); err == nil {
		t.Fatal("unknown kind accepted")
	}
	// A header problem comes back as a *RowError and the file is closed.
	_, _, err = OpenFile(KindEvents, path)
	if re, ok := err.(*RowError); !ok || re.Line != 1 || re.File != path {
		t.Fatalf("header error %T %v", err, err)
	}
}

// TestSampleCatalog: SPEC.md, Interchange formats — the shared sample catalog decodes to 19
// rows with no errors.
func TestSampleCatalog(t *testing.T) {
	paths := []string{filepath.Join("testdata", "sample-catalog.csv")} // a copy of /work/shared/data/sample-catalog.csv
	if _, err := os.Stat("/work/shared/data/sample-catalog.csv"); err == nil {
		paths = append(paths, "/work/shared/data/sample-catalog.csv")
	}
	for _, path := range paths {
		d, closer, err := OpenFile(KindCatalog, path)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			row, rerr, ok := d.Next()
			if !ok {
				break
			}
			if rerr != nil {
				t.Errorf("%v", rerr)
				continue
			}
			n++
			if row.Line != n+1 {
				t.Errorf("row %d on line %d", n, row.Line)
			}
		}
		closer.Close()
		if n != 19 {
			t.Errorf("%s: %d rows, want 19", path, n)
		}
	}
}

const eventsHeader = "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"

// eventRow builds an events CSV row from a good allocate, with fields replaced.
func eventRow(changes ...string) string {
	f := map[string]string{"key": "k1", "time": "2026-01-02T10:00:00+08:00", "op": "allocate", "department": "d1", "project": "p1",
		"provider": "x1", "resource": "r1", "item": "i1", "kind": "", "quantity": "1", "expires": ""}
	for i := 0; i+1 < len(changes); i += 2 {
		f[changes[i]] = changes[i+1]
	}
	var out []string
	for _, c := range Columns(KindEvents) {
		out = append(out, f[c])
	}
	return strings.Join(out, ",") + "\n"
}

// spec is the rule every case of the tables below proves.
const spec = "SPEC.md, Interchange formats"

type wantErr struct {
	line  int
	field string
	code  errcode.Code
}

// TestBadInput: SPEC.md, Interchange formats — a file with bad rows lists each bad row with
// its line number, field and reason; decoding carries on after each one.
func TestBadInput(t *testing.T) {
	good := eventRow()
	catalogHeader := strings.Join(Columns(KindCatalog), ",") + "\n"
	cases := []struct {
		name     string
		kind     FileKind
		format   Format
		input    string
		rows     []int     // lines of the good rows
		errs     []wantErr // every bad row, in order
		header   *wantErr  // a header problem (NewDecoder fails)
		contains string    // a piece of the first error's Error() text
	}{
		{name: "unterminated quote swallows the rest of the file", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + good + eventRow("key", `"k2`) + eventRow("key", "k3"),
			rows:  []int{2}, errs: []wantErr{{3, "", errcode.Malformed}}},
		{name: "bare quote in a field", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("key", `k"1`) + eventRow("key", "k2"),
			rows:  []int{3}, errs: []wantErr{{2, "", errcode.Malformed}}},
		{name: "too many fields", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + good + strings.TrimSuffix(eventRow("key", "k2"), "\n") + ",extra\n" + eventRow("key", "k3"),
			rows:  []int{2, 4}, errs: []wantErr{{3, "", errcode.Malformed}}, contains: "12 fields, but the header has 11"},
		{name: "too few fields", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + "k1,2026-01-02T10:00:00+08:00,reclaim\n" + eventRow("key", "k3"),
			rows:  []int{3}, errs: []wantErr{{2, "", errcode.Malformed}}},
		{name: "missing header column", kind: KindEvents, format: FormatCSV,
			input:  strings.Replace(eventsHeader, ",expires", "", 1),
			header: &wantErr{1, "expires", errcode.MissingField}},
		{name: "unknown header column", kind: KindEvents, format: FormatCSV,
			input:  strings.Replace(eventsHeader, ",expires", ",expires,note", 1),
			header: &wantErr{1, "note", errcode.Malformed}},
		{name: "duplicate header column", kind: KindEvents, format: FormatCSV,
			input:  strings.Replace(eventsHeader, ",expires", ",expires,key", 1),
			header: &wantErr{1, "key", errcode.Malformed}},
		{name: "empty header column", kind: KindEvents, format: FormatCSV,
			input:  strings.Replace(eventsHeader, ",expires", ",expires,", 1),
			header: &wantErr{1, "", errcode.Malformed}},
		{name: "empty file", kind: KindEvents, format: FormatCSV, input: "",
			header: &wantErr{1, "", errcode.Malformed}},
		{name: "header only", kind: KindEvents, format: FormatCSV, input: eventsHeader},
		{name: "columns in any order, proration optional", kind: KindCatalog, format: FormatCSV,
			input: "price,item,name,category,unit,billing,quota_class,provider,effective_from\n1,a,b,c,d,metered,,,2026-01-01\n",
			rows:  []int{2}},
		{name: "non-numeric quantity", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("quantity", "abc") + eventRow("key", "k2"),
			rows:  []int{3}, errs: []wantErr{{2, "quantity", errcode.InvalidQuantity}}},
		{name: "negative quantity", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + good + eventRow("quantity", "-3"),
			rows:  []int{2}, errs: []wantErr{{3, "quantity", errcode.InvalidQuantity}},
			contains: "events.csv:3: quantity: invalid_quantity: must be positive, got -3"},
		{name: "zero quantity", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("op", "expand", "quantity", "0"),
			errs:  []wantErr{{2, "quantity", errcode.InvalidQuantity}}},
		{name: "missing quantity", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("op", "usage", "quantity", ""),
			errs:  []wantErr{{2, "quantity", errcode.MissingField}}},
		{name: "exponent quantity 1E1000000000", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("quantity", "1E1000000000"),
			errs:  []wantErr{{2, "quantity", errcode.InvalidQuantity}}},
		{name: "exponent quantity as a JSON number", kind: KindEvents, format: FormatJSONL,
			input: `{"key":"k","time":"2026-01-02T10:00:00+08:00","op":"usage","department":"d","project":"p","provider":"x","resource":"r","item":"i","quantity":1E1000000000}` + "\n",
			errs:  []wantErr{{1, "quantity", errcode.InvalidQuantity}}},
		{name: "too many digits", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("quantity", "1.0000001") + eventRow("key", "k2", "quantity", "1234567890123456789"),
			errs:  []wantErr{{2, "quantity", errcode.InvalidQuantity}, {3, "quantity", errcode.InvalidQuantity}}},
		{name: "time without offset", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("time", "2026-01-02T10:00:00"),
			errs:  []wantErr{{2, "time", errcode.InvalidTime}}},
		{name: "missing time", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("time", ""),
			errs:  []wantErr{{2, "time", errcode.MissingField}}},
		{name: "time out of range", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("time", "1999-12-31T10:00:00+08:00"),
			errs:  []wantErr{{2, "time", errcode.InvalidTime}}},
		{name: "bad date in expires", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("kind", "test", "expires", "2026-02-30"),
			errs:  []wantErr{{2, "expires", errcode.InvalidDate}}},
		{name: "bad date in catalog", kind: KindCatalog, format: FormatCSV,
			input: catalogHeader + "a,b,c,d,metered,,1,,2026/01/01,\n" + "a,b,c,d,metered,,1,,2026-1-1,\n" + "a,b,c,d,metered,,1,,,\n",
			errs:  []wantErr{{2, "effective_from", errcode.InvalidDate}, {3, "effective_from", errcode.InvalidDate}, {4, "effective_from", errcode.MissingField}}},
		{name: "bad date in providers", kind: KindProviders, format: FormatCSV,
			input: "provider,name,contract_start,contract_end\np1,P,2026-01-01,2025-13-01\np2,P,2026-01-01,2025-12-31\n",
			errs:  []wantErr{{2, "contract_end", errcode.InvalidDate}, {3, "contract_end", errcode.InvalidValue}}},
		{name: "empty key", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("key", "") + eventRow("key", "  "),
			errs:  []wantErr{{2, "key", errcode.MissingField}, {3, "key", errcode.MissingField}}},
		{name: "unknown op", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("op", "destroy") + eventRow("op", "") + eventRow("op", "expire"),
			errs:  []wantErr{{2, "op", errcode.InvalidValue}, {3, "op", errcode.MissingField}, {4, "op", errcode.InvalidValue}}},
		{name: "unknown kind", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("kind", "spot"),
			errs:  []wantErr{{2, "kind", errcode.InvalidValue}}},
		{name: "reclaim with quantity", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("op", "reclaim", "quantity", "1") + eventRow("key", "k2", "op", "reclaim", "quantity", ""),
			rows:  []int{3}, errs: []wantErr{{2, "quantity", errcode.InvalidQuantity}}},
		{name: "extend with quantity", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("op", "extend", "quantity", "0", "expires", "2026-03-01"),
			errs:  []wantErr{{2, "quantity", errcode.InvalidQuantity}}},
		{name: "extend without expiry", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("op", "extend", "quantity", ""),
			errs:  []wantErr{{2, "expires", errcode.ExpiryRequired}}},
		{name: "usage with expiry", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("op", "usage", "expires", "2026-03-01"),
			errs:  []wantErr{{2, "expires", errcode.ExpiryNotAllowed}}},
		{name: "allocate without department (ledger validation)", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("department", ""),
			errs:  []wantErr{{2, "department", errcode.MissingField}}},
		{name: "id with a space (ledger validation)", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("resource", `"vm 1"`),
			errs:  []wantErr{{2, "resource", errcode.InvalidValue}}},
		{name: "funding outside budget|self", kind: KindDepartments, format: FormatCSV,
			input: "department,name,parent,funding\nd1,D,,public\nd2,D,,\n",
			errs:  []wantErr{{2, "funding", errcode.InvalidValue}, {3, "funding", errcode.MissingField}}},
		{name: "billing and proration", kind: KindCatalog, format: FormatCSV,
			input: catalogHeader + "a,b,c,d,monthly,,1,,2026-01-01,\n" + "a,b,c,d,metered,,1,,2026-01-01,weekly\n" + "a,b,c,d,metered,,-1,,2026-01-01,\n",
			errs:  []wantErr{{2, "billing", errcode.InvalidValue}, {3, "proration", errcode.InvalidValue}, {4, "price", errcode.InvalidQuantity}}},
		{name: "negative quota", kind: KindProjects, format: FormatCSV,
			input: "project,department,name,quota_class,quota\np,d,n,vcpu,-1\np,d,n,vcpu,x\np,d,n,vcpu,0\n",
			rows:  []int{4}, errs: []wantErr{{2, "quota", errcode.InvalidQuantity}, {3, "quota", errcode.InvalidQuantity}}},
		{name: "BOM handled", kind: KindEvents, format: FormatCSV,
			input: "\ufeff" + eventsHeader + good,
			rows:  []int{2}},
		{name: "BOM handled in JSON lines", kind: KindEvents, format: FormatJSONL,
			input: "\ufeff" + `{"key":"k","time":"2026-01-02T10:00:00+08:00","op":"reclaim","resource":"r"}` + "\n",
			rows:  []int{1}},
		{name: "CRLF line ends", kind: KindEvents, format: FormatCSV,
			input: strings.ReplaceAll(eventsHeader+good+eventRow("key", "k2", "quantity", "-1"), "\n", "\r\n"),
			rows:  []int{2}, errs: []wantErr{{3, "quantity", errcode.InvalidQuantity}}},
		{name: "quoted multi-line field keeps later line numbers right", kind: KindCatalog, format: FormatCSV,
			input: catalogHeader + "a,\"two\nline name\",c,d,metered,,1,,2026-01-01,\n" + "b,\"x\n\ny\",c,d,metered,,1,,2026-01-01,\n" + "c,n,c,d,metered,,-1,,2026-01-01,\n" + "d,n,c,d,metered,,1,,2026-01-01,\n",
			// A line break inside a name is a control character, refused (issue 10), on the
			// line where its row starts.
			rows: []int{8}, errs: []wantErr{{2, "name", errcode.InvalidValue}, {4, "name", errcode.InvalidValue}, {7, "price", errcode.InvalidQuantity}}},
		{name: "blank and empty rows are skipped, lines still counted", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + "\n" + good + "   \n,,,,,,,,,,\n" + eventRow("key", "k2", "quantity", "x"),
			rows:  []int{3}, errs: []wantErr{{6, "quantity", errcode.InvalidQuantity}}},
		{name: "surrounding spaces trimmed", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + " k1 , 2026-01-02T10:00:00+08:00 , allocate ,d1,p1,x1,r1,i1, standard , 1.5 ,\n",
			rows:  []int{2}},
		{name: "long input is echoed capped", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + eventRow("op", strings.Repeat("x", 5000)),
			errs:  []wantErr{{2, "op", errcode.InvalidValue}}, contains: `"` + strings.Repeat("x", MaxEcho) + `"…`},
		{name: "JSON: unknown field", kind: KindEvents, format: FormatJSONL,
			input: `{"key":"k","colour":"red"}` + "\n" + `{"key":"k","time":"2026-01-02T10:00:00+08:00","op":"reclaim","resource":"r"}` + "\n",
			rows:  []int{2}, errs: []wantErr{{1, "colour", errcode.Malformed}}},
		{name: "JSON: key is not a master-data field", kind: KindDepartments, format: FormatJSONL,
			input: `{"key":"k","department":"d","name":"n","funding":"self"}` + "\n",
			errs:  []wantErr{{1, "key", errcode.Malformed}}},
		{name: "JSON: duplicate, number in a text field, nested, not an object, trailing data", kind: KindEvents, format: FormatJSONL,
			input: `{"key":"a","key":"b"}` + "\n" + `{"key":1}` + "\n" + `{"key":["k"]}` + "\n" + `["k"]` + "\n" + `{"key":"k"} {}` + "\n" + `{"key":` + "\n" + `{"key":true}` + "\n",
			errs: []wantErr{{1, "key", errcode.Malformed}, {2, "key", errcode.Malformed}, {3, "key", errcode.Malformed},
				{4, "", errcode.Malformed}, {5, "", errcode.Malformed}, {6, "", errcode.Malformed}, {7, "key", errcode.Malformed}}},
		{name: "JSON: blank lines skipped, last line without newline", kind: KindEvents, format: FormatJSONL,
			input: "\n  \r\n" + `{"key":"k","time":"2026-01-02T10:00:00+08:00","op":"reclaim","resource":"r"}` + "\n\n" + `{"key":"k2","time":"2026-01-02T10:00:00+08:00","op":"usage","resource":"r"}`,
			rows:  []int{3}, errs: []wantErr{{5, "quantity", errcode.MissingField}}},
		{name: "JSON: line over the limit", kind: KindEvents, format: FormatJSONL,
			input: `{"key":"` + strings.Repeat("k", MaxRecordBytes) + `"}` + "\n" + `{"key":"k","time":"2026-01-02T10:00:00+08:00","op":"reclaim","resource":"r"}` + "\n",
			rows:  []int{2}, errs: []wantErr{{1, "", errcode.TooLarge}}},
		{name: "JSON: key over the ledger limit", kind: KindEvents, format: FormatJSONL,
			input: `{"key":"` + strings.Repeat("k", ledger.MaxKeyLen+1) + `","time":"2026-01-02T10:00:00+08:00","op":"reclaim","resource":"r"}` + "\n",
			errs:  []wantErr{{1, "key", errcode.TooLarge}}},
		{name: "CSV: record over the limit stops decoding", kind: KindEvents, format: FormatCSV,
			input: eventsHeader + good + `"` + strings.Repeat("k", 2*MaxRecordBytes) + `"` + "\n" + good,
			rows:  []int{2}, errs: []wantErr{{3, "", errcode.TooLarge}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, errs, herr := decodeAll(t, c.kind, c.format, c.input)
			if c.header != nil {
				re, ok := herr.(*RowError)
				t.Log(herr)
				if !ok {
					t.Fatalf("header error %T %v, want %+v", herr, herr, *c.header)
				}
				if got := (wantErr{re.Line, re.Field, re.Code}); got != *c.header {
					t.Fatalf("%s: header error %+v (%v), want %+v", spec, got, re, *c.header)
				}
				return
			}
			if herr != nil {
				t.Fatalf("header: %v", herr)
			}
			var gotErrs []wantErr
			for _, e := range errs {
				t.Log(e)
				gotErrs = append(gotErrs, wantErr{e.Line, e.Field, e.Code})
				if strings.ContainsAny(e.Error(), "\n\r") || len(e.Message) > 400 {
					t.Errorf("error not one short line: %q", e.Error())
				}
			}
			if fmt.Sprint(gotErrs) != fmt.Sprint(c.errs) {
				t.Errorf("%s: errors %v, want %v", spec, gotErrs, c.errs)
			}
			var gotRows []int
			for _, r := range rows {
				gotRows = append(gotRows, r.Line)
				if err := ledger.ValidateCommand(r.Command); err != nil {
					t.Errorf("line %d: decoded command fails validation: %v", r.Line, err)
				}
			}
			if fmt.Sprint(gotRows) != fmt.Sprint(c.rows) {
				t.Errorf("%s: rows on lines %v, want %v", spec, gotRows, c.rows)
			}
			if c.contains != "" && (len(errs) == 0 || !strings.Contains(errs[0].Error(), c.contains)) {
				t.Errorf("first error %v does not contain %q", errs, c.contains)
			}
		})
	}
}

// TestRowErrorFormat: SPEC.md, Interchange formats — each bad row is reported with its line
// number, field and reason on one line, with the stable error code.
func TestRowErrorFormat(t *testing.T) {
	e := &RowError{File: "events.csv", Line: 12, Field: "quantity", Code: errcode.InvalidQuantity, Message: "must be positive, got -3"}
	if got, want := e.Error(), "events.csv:12: quantity: invalid_quantity: must be positive, got -3"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if got := errcode.Of(e); got != errcode.InvalidQuantity {
		t.Errorf("CodeOf %s", got)
	}
	e = &RowError{File: "events.csv", Line: 3, Code: errcode.Malformed, Message: "a\nb"}
	if got, want := e.Error(), "events.csv:3: malformed: a b"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

// TestNewDecoderArguments: unknown kinds and formats and a missing file id are refused.
func TestNewDecoderArguments(t *testing.T) {
	if _, err := NewDecoder("evaluations", "x", strings.NewReader(""), FormatCSV, "f"); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := NewDecoder(KindEvents, "x", strings.NewReader(eventsHeader), "xml", ""); err == nil {
		t.Error("unknown format accepted")
	}
	if _, err := NewDecoder(KindCatalog, "x", strings.NewReader(""), FormatJSONL, ""); err == nil {
		t.Error("master data without a file id accepted")
	}
	if _, err := NewDecoder(KindEvents, "x", strings.NewReader(eventsHeader), FormatCSV, ""); err != nil {
		t.Errorf("events need no file id: %v", err)
	}
}

// TestFormatFor: SPEC.md, Interchange formats — CSV or JSON lines, chosen by extension.
func TestFormatFor(t *testing.T) {
	for path, want := range map[string]Format{"a/events.csv": FormatCSV, "E.CSV": FormatCSV, "x.jsonl": FormatJSONL, "x.ndjson": FormatJSONL, "x.json": FormatJSONL, "x.txt": "", "csv": ""} {
		got, err := FormatFor(path)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("%s: %q %v, want %q", path, got, err, want)
		}
	}
}

// TestColumns: SPEC.md, Interchange formats — the column order of each file.
func TestColumns(t *testing.T) {
	want := map[FileKind]string{
		KindDepartments: "department,name,parent,funding",
		KindProviders:   "provider,name,contract_start,contract_end",
		KindProjects:    "project,department,name,quota_class,quota",
		KindCatalog:     "item,name,category,unit,billing,quota_class,price,provider,effective_from,proration",
		KindEvents:      "key,time,op,department,project,provider,resource,item,kind,quantity,expires",
	}
	for k, w := range want {
		if got := strings.Join(Columns(k), ","); got != w {
			t.Errorf("%s: %s, want %s", k, got, w)
		}
	}
	if Columns("nope") != nil {
		t.Error("unknown kind has columns")
	}
	if got := strings.Join(RequiredColumns(KindCatalog), ","); strings.Contains(got, "proration") {
		t.Errorf("proration is optional: %s", got)
	}
}

func day(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}
