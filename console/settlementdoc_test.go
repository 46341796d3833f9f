package console

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/xuri/excelize/v2"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// settledAPI answers settlement year 2026 as audited, with two budget-funded departments
// and one self-funded.
type settledAPI struct {
	*fakeAPI
	state string
}

func (s *settledAPI) SettleStatus(_ context.Context, r *connect.Request[v1.SettleStatusRequest]) (*connect.Response[v1.SettleStatusResponse], error) {
	return connect.NewResponse(&v1.SettleStatusResponse{Year: r.Msg.GetYear(), State: s.state, WindowFrom: "2025-09-01", WindowTo: "2026-08-31",
		Deadline: "2026-09-30", AppliedIndex: 900, AuditIndex: 880}), nil
}

func (s *settledAPI) BudgetExport(_ context.Context, r *connect.Request[v1.BudgetExportRequest]) (*connect.Response[v1.BudgetExportResponse], error) {
	return connect.NewResponse(&v1.BudgetExportResponse{Content: []byte("department,amount"), AppliedIndex: 900, Budget: &v1.Budget{Year: 2026, State: s.state, AuditedBy: "authority1",
		Departments: []*v1.BudgetDepartment{
			{Department: "edu", DepartmentName: "市教育局", Funding: "budget", BaseAmount: "1000.00", Amount: "1100.50"},
			{Department: "health", DepartmentName: "市卫健委", Funding: "budget", BaseAmount: "20.00", Amount: "22.95"},
			{Department: "bus", DepartmentName: "市公交集团", Funding: "self", BaseAmount: "10.00", Amount: "9.00"}}}}), nil
}

// Issue 27: the finance bureau's settlement document (结算单) of an audited year: the
// audited fees by department, budget-funded totalled apart from self-funded (1,100.50 +
// 22.95 = 1,123.45, by hand), the seal boxes of the authority and of the finance bureau,
// and the auditor's footer; a year not audited has none.
func TestSettlementDocument(t *testing.T) {
	api := &settledAPI{fakeAPI: &fakeAPI{role: "authority"}, state: "submitted"}
	srv := statementConsole(t, api)
	status, body := get(t, srv, "/finance/settlement?year=2026")
	if status != http.StatusOK {
		t.Fatalf("HTTP %d\n%s", status, body)
	}
	for _, want := range []string{"<h1>2026 结算年度结算单</h1>", "<dt>结算期间</dt><dd>2025年9月1日至2026年8月31日</dd>",
		`市教育局 <code class="code">edu</code>`, "<dt>财政预算单位审核费用合计（元）</dt><dd>1,123.45</dd>",
		`<td class="num">1,123.45</td>`, `<td class="num">9.00</td>`,
		"政务云主管部门（盖章）", "财政局（签收盖章）",
		`<dt>状态索引</dt><dd><code class="code">900</code></dd>`,
		// sha256sum of the bytes "department,amount"
		`<code class="code">CL-2026-JS-a14111f6</code>`, `<code class="code">a14111f6961c96954bf221e64788fd32b34ba86141c322efbd591cbe632d768f</code>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the settlement document lacks %s", want)
		}
	}
	// The self-funded are apart: bus is not in the budget-funded table's total.
	if i, j := strings.Index(body, "非财政预算单位"), strings.Index(body, "市公交集团"); i < 0 || j < i {
		t.Error("the self-funded department is not listed apart, after the budget-funded")
	}
	api.state = "draft"
	if _, body := get(t, srv, "/finance/settlement?year=2026"); !strings.Contains(body, "本年度尚未审核，审核后才有结算单。") || strings.Contains(body, "盖章") {
		t.Errorf("a draft year's settlement document:\n%.2000s", body)
	}
}

// Issue 27, must show 2 (finance downloads the 结算单): the document as XLSX, one sheet
// named and titled with the year, the parties and the window, each table with its total
// (1,123.45 and 9.00, by hand) as numbers, the seal boxes and the auditor's footer; no
// link of the page's.
func TestSettlementDocumentDownloads(t *testing.T) {
	srv := statementConsole(t, &settledAPI{fakeAPI: &fakeAPI{role: "authority"}, state: "submitted"})
	status, body := get(t, srv, "/finance/settlement?year=2026&format=xlsx")
	if status != http.StatusOK {
		t.Fatalf("HTTP %d\n%.500s", status, body)
	}
	f, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{"结算单 2026年度"}) {
		t.Fatalf("sheets %q", got)
	}
	rows, err := f.GetRows("结算单 2026年度", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range rows {
		lines = append(lines, strings.Join(r, "|"))
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{"2026 结算年度结算单", "接收单位|财政局", "结算期间|2025年9月1日至2026年8月31日",
		"财政预算单位\n序号|使用单位|基础金额（元）|审核费用（元）\n1|市教育局（edu）|1000|1100.5", "合计||1020|1123.45", "合计||10|9", "政务云主管部门（盖章）", "财政局（签收盖章）",
		"文件编号|CL-2026-JS-a14111f6"} {
		if !strings.Contains(all, want) {
			t.Errorf("the 结算单 workbook lacks %q:\n%s", want, all)
		}
	}
	if lines[0] != "2026 结算年度结算单" || strings.Contains(all, "/finance") {
		t.Errorf("the workbook's title or its links:\n%s", all)
	}
}
