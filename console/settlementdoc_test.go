package console

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

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
