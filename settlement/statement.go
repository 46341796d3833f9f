package settlement

import (
	"encoding/json"
	"fmt"
	"github.com/cloudledger/cloudledger/csvfile"
	"github.com/cloudledger/cloudledger/money"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
)

// StatementResource is one resource of a monthly statement with what it cost that month.
type StatementResource struct {
	Resource   string              `json:"resource"`
	Department string              `json:"department"`
	Project    string              `json:"project"`
	Provider   string              `json:"provider"`
	Item       string              `json:"item"`
	Kind       ledger.ResourceKind `json:"kind"`
	Unit       string              `json:"unit"`     // what Quantity counts (GB·天, the metered unit; for test resources the unit held)
	Quantity   decimal.Decimal     `json:"quantity"` // unit-days or units consumed; for test resources the most held
	BaseAmount decimal.Decimal     `json:"base_amount"`
	Amount     decimal.Decimal     `json:"amount"`
	// Utilisation is the resource's month of daily rows (SPEC: Utilisation, Reports), nil
	// when it has none.
	Utilisation *ledger.MonthUtilisation `json:"-"`
	// Findings are the findings of the resource (or of its project, a zombie) open at some
	// time in the month, by id; Advice the adjusted quantity of an open low_utilisation one.
	Findings []StatementFinding `json:"findings,omitempty"`
	Advice   decimal.Decimal    `json:"advice,omitzero"`
}

// StatementFinding is a finding as a statement lists it: id, kind and its state now.
type StatementFinding struct {
	ID    string              `json:"id"`
	Kind  ledger.FindingKind  `json:"kind"`
	State ledger.FindingState `json:"state"`
}

// Subtotal is a statement's sum per project (department statement) or department
// (provider statement), from the charge lines.
type Subtotal struct {
	Group      string          `json:"group"`
	BaseAmount decimal.Decimal `json:"base_amount"`
	Amount     decimal.Decimal `json:"amount"`
}

// Statement is the monthly use statement (每月利用情况表) of a department or a provider.
type Statement struct {
	Month      calendar.Month      `json:"month"`
	Department string              `json:"department,omitempty"`
	Provider   string              `json:"provider,omitempty"`
	RaftIndex  uint64              `json:"raft_index"`
	Resources  []StatementResource `json:"resources"`
	Lines      []rating.Line       `json:"-"`
	Subtotals  []Subtotal          `json:"subtotals"`
	Total      rating.Totals       `json:"total"`
	// TestResources are listed apart: never charged (SPEC: Rating).
	TestResources []StatementResource `json:"test_resources"`
	// Through is the last day rated when it is before the month's last: the statement of
	// the month the ledger's clock is in covers the days up to yesterday (month to date),
	// never days still to come; zero for a month that is over.
	Through calendar.Date `json:"through,omitzero"`
	// PartyName is the department's or provider's name as the ledger holds it (the
	// workbook's title), "" if the view does not hold it.
	PartyName string `json:"-"`
}

// statementThrough is the last day a statement of month rates as of the ledger's clock:
// the month's last day once the month is over, yesterday while it runs (today is not
// over), the day before the month for a month still to come; zero for the whole month.
func statementThrough(clock time.Time, month calendar.Month) calendar.Date {
	if clock.IsZero() {
		return calendar.Date{}
	}
	yesterday := calendar.DateOf(clock).AddDays(-1)
	if !yesterday.Before(month.Last()) {
		return calendar.Date{}
	}
	return yesterday
}

// UtilisationOf answers a resource's month of utilisation rows (ok false: none).
type UtilisationOf func(resource string) (ledger.MonthUtilisation, bool)

// FindingsOf answers the findings of a resource and of its project (SPEC: Utilisation).
type FindingsOf func(resource, project string) []ledger.Finding

// BuildStatement rates the month for one department or one provider (d already filtered to
// it), per resource and per charge line, with subtotals, and each resource's month of
// utilisation (util; nil: none) and the findings open in the month (findings; nil: none).
//
// The month the ledger's clock is in is rated through yesterday (Through), and a month
// still to come has no charges: a statement never bills days still to come.
func BuildStatement(d *ledger.View, month calendar.Month, department, provider string, util UtilisationOf, findings FindingsOf) (*Statement, error) {
	st := &Statement{Month: month, Department: department, Provider: provider, RaftIndex: d.Head.AppliedIndex,
		Resources: []StatementResource{}, TestResources: []StatementResource{}, Through: statementThrough(d.Clock, month)}
	if dep := d.Departments[department]; department != "" && dep != nil {
		st.PartyName = dep.Name
	}
	if p := d.Providers[provider]; provider != "" && p != nil {
		st.PartyName = p.Name
	}
	opt := rating.Options{From: month.First(), To: month.Last(), Department: department, Provider: provider}
	if !st.Through.IsZero() {
		opt.To = st.Through
	}
	if opt.To.Before(opt.From) { // a month not begun: nothing used yet
		return st, nil
	}
	res, err := rating.Rate(d, opt)
	if err != nil {
		return nil, err
	}
	st.Lines, st.Total = slices.Clone(res.Lines), res.Total // the result may be shared (rating.Kept)
	rows, err := rating.RateResources(d, opt)
	if err != nil {
		return nil, err
	}
	for _, c := range rows {
		r := StatementResource{Resource: c.Resource, Department: c.Department, Project: c.Project, Provider: c.Provider, Item: c.Item, Kind: c.Kind,
			Quantity: c.Quantity, BaseAmount: c.BaseAmount, Amount: c.Amount}
		if util != nil {
			if u, ok := util(c.Resource); ok {
				r.Utilisation = &u
			}
		}
		if findings != nil {
			r.addFindings(findings(c.Resource, c.Project), month)
		}
		if item := d.Items[c.Item]; item != nil {
			r.Unit = rating.QuantityUnit(item)
			if c.Kind == ledger.KindTest {
				r.Unit = rating.BaseUnit(item.Unit) // the most held, not unit-days
			}
		}
		if c.Kind == ledger.KindTest {
			r.Quantity = c.MostHeld
			st.TestResources = append(st.TestResources, r)
			continue
		}
		st.Resources = append(st.Resources, r)
	}
	groups := map[string]*Subtotal{}
	for _, l := range res.Lines {
		g := l.Project
		if department == "" {
			g = l.Department
		}
		s := groups[g]
		if s == nil {
			s = &Subtotal{Group: g}
			groups[g] = s
		}
		s.BaseAmount = s.BaseAmount.Add(l.BaseAmount)
		s.Amount = s.Amount.Add(l.Amount)
	}
	for _, s := range groups {
		st.Subtotals = append(st.Subtotals, *s)
	}
	slices.SortFunc(st.Subtotals, func(a, b Subtotal) int { return strings.Compare(a.Group, b.Group) })
	return st, nil
}

// addFindings keeps the findings open at some time in the month (raised by its last day,
// not closed before its first), so that a past month's statement keeps what was open then.
func (r *StatementResource) addFindings(fs []ledger.Finding, month calendar.Month) {
	for _, f := range fs {
		if f.RaisedOn.After(month.Last()) || !f.ClosedOn.IsZero() && f.ClosedOn.Before(month.First()) {
			continue
		}
		r.Findings = append(r.Findings, StatementFinding{ID: f.ID, Kind: f.Kind, State: f.State})
		if f.Kind == ledger.FindingLow && f.State.Open() {
			r.Advice = f.Advice
		}
	}
	slices.SortFunc(r.Findings, func(a, b StatementFinding) int { return strings.Compare(a.ID, b.ID) })
}

// StatementColumns are the columns of the statement CSV.
var StatementColumns = interchange.StatementColumns

// statementQuantityColumn is the first numeric column of a statement row; the amounts follow;
// statementUtilisationColumn is the first of the utilisation columns after them.
const (
	statementQuantityColumn    = 8
	statementUtilisationColumn = 11
)

// WriteCSV writes the statement as one CSV (UTF-8 with a BOM): resource rows, charge lines,
// subtotal rows, the total, then the test resources apart (section column says which).
func (s *Statement) WriteCSV(w io.Writer) error {
	cw, err := csvfile.New(w, true)
	if err != nil {
		return err
	}
	return cw.WriteAll(append([][]string{StatementColumns}, s.Rows()...))
}

// Rows are the statement's rows without the header, as in the CSV: the section column says
// resource, line, subtotal, total or test.
func (s *Statement) Rows() [][]string {
	var rows [][]string
	none := []string{"", "", "", "", "", ""}
	for _, r := range s.Resources {
		rows = append(rows, append([]string{"resource", r.Department, r.Project, r.Provider, r.Item, r.Resource, string(r.Kind), r.Unit, r.Quantity.String(), money.Text(r.BaseAmount), money.Text(r.Amount)}, r.utilisationCells()...))
	}
	for _, l := range s.Lines {
		rows = append(rows, append([]string{"line", l.Department, l.Project, l.Provider, l.Item, "", "", l.Unit, l.Quantity.String(), money.Text(l.BaseAmount), money.Text(l.Amount)}, none...))
	}
	for _, t := range s.Subtotals {
		d, p := t.Group, ""
		if s.Department != "" {
			d, p = s.Department, t.Group
		}
		rows = append(rows, append([]string{"subtotal", d, p, s.Provider, "", "", "", "", "", money.Text(t.BaseAmount), money.Text(t.Amount)}, none...))
	}
	rows = append(rows, append([]string{"total", s.Department, "", s.Provider, "", "", "", "", "", money.Text(s.Total.BaseAmount), money.Text(s.Total.Amount)}, none...))
	for _, r := range s.TestResources {
		rows = append(rows, append([]string{"test", r.Department, r.Project, r.Provider, r.Item, r.Resource, string(r.Kind), r.Unit, r.Quantity.String(), "", ""}, r.utilisationCells()...))
	}
	return rows
}

// utilisationCells are a resource's mean, peak and availability (percent, two decimals) and
// days with data (empty without rows), then its findings — `id:kind:state` joined by `;` —
// and the advice.
func (r StatementResource) utilisationCells() []string {
	out := []string{"", "", "", ""}
	if u := r.Utilisation; u != nil {
		out = []string{u.Mean.StringFixed(2), u.Peak.StringFixed(2), u.Availability.StringFixed(2), strconv.Itoa(u.Days)}
	}
	fs := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		fs[i] = f.ID + ":" + string(f.Kind) + ":" + string(f.State)
	}
	advice := ""
	if !r.Advice.IsZero() {
		advice = r.Advice.String()
	}
	return append(out, strings.Join(fs, ";"), advice)
}

// statementHeaders are the XLSX headers: Chinese, English beneath.
var statementHeaders = []string{"类别", "部门", "项目", "服务商", "服务项", "资源", "类型", "单位", "用量", "基础金额(元)", "金额(元)",
	"平均利用率(%)", "峰值利用率(%)", "可用率(%)", "有数据天数", "利用率问题", "调整建议"}

// SheetName is the statement workbook's sheet: 使用情况 and the month (使用情况 2026年3月),
// as the console and the official document word it.
func (s *Statement) SheetName() string { return "使用情况 " + monthWords(s.Month) }

// Title is the statement's title line: the document, its party by name with its code, the
// month, and for a month still running the day it is rated through (本月至今).
func (s *Statement) Title() string {
	who := s.Department + s.Provider
	if s.PartyName != "" {
		who = s.PartyName + "（" + who + "）"
	}
	t := "月度使用情况表 · " + who + " · " + monthWords(s.Month)
	if !s.Through.IsZero() {
		if s.Through.Before(s.Month.First()) {
			return t + "（本月尚未开始，无费用）"
		}
		t += fmt.Sprintf("（本月至今，截至%d年%d月%d日）", s.Through.Year, s.Through.Month, s.Through.Day)
	}
	return t
}

func monthWords(m calendar.Month) string { return fmt.Sprintf("%d年%d月", m.Year, m.Month) }

// WriteXLSX writes the statement as a one-sheet workbook named and titled with its month
// (row 1: Title), the headers (rows 2 and 3) and the same rows as the CSV, amounts as
// numbers; like the budget export, the bytes depend on the ledger only.
func (s *Statement) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetDocProps(&excelize.DocProperties{Title: s.Title(), Creator: "CloudLedger",
		Created: fixedTime.Format(time.RFC3339), Modified: fixedTime.Format(time.RFC3339), Language: "zh-CN"}); err != nil {
		return err
	}
	sheet := s.SheetName()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	money, err := f.NewStyle(&excelize.Style{NumFmt: 4})
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	if err := sw.SetRow("A1", []any{s.Title()}); err != nil {
		return err
	}
	if err := sw.SetRow("A2", rowCells(statementHeaders, -1, -1, 0)); err != nil {
		return err
	}
	if err := sw.SetRow("A3", rowCells(StatementColumns, -1, -1, 0)); err != nil {
		return err
	}
	for i, r := range s.Rows() {
		cells := rowCells(r[:statementUtilisationColumn], statementQuantityColumn, statementQuantityColumn+1, money)
		cells = append(cells, rowCells(r[statementUtilisationColumn:], 0, len(r), 0)...) // percentages and days: numbers, not money
		if err := sw.SetRow(cellName(0, i+4), cells); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return writeWorkbook(f, w)
}

// WriteJSON writes the statement as one JSON object.
func (s *Statement) WriteJSON(w io.Writer) error {
	out := struct {
		*Statement
		Total       totalsJSON          `json:"total"`
		ChargeLines []map[string]string `json:"charge_lines"`
	}{Statement: s, Total: statementTotal(s.Total), ChargeLines: []map[string]string{}}
	for _, l := range s.Lines {
		rec := l.Record()
		m := map[string]string{}
		for i, c := range rating.Columns {
			m[c] = rec[i]
		}
		out.ChargeLines = append(out.ChargeLines, m)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
