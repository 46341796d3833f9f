package console

import "testing"

// Issue 27: the settlement buttons are enabled only when the step is possible, each
// disabled one saying why.
func TestSettleBlocked(t *testing.T) {
	rq := &pageRequest{lang: "zh"}
	for _, c := range []struct {
		state          string
		open, unscored int
		want           map[string]string
	}{
		{"", 3, 0, map[string]string{"audit": "须先生成草稿", "submit": "须先审核"}},
		{"draft", 0, 0, map[string]string{"run": "草稿已生成", "submit": "须先审核"}},
		{"draft", 2, 1, map[string]string{"run": "草稿已生成", "audit": "2 个月未关账，1 家服务商缺评分", "submit": "须先审核"}},
		{"draft", 0, 1, map[string]string{"run": "草稿已生成", "audit": "1 家服务商缺评分", "submit": "须先审核"}},
		{"audited", 0, 0, map[string]string{"run": "本年度已审核", "audit": "本年度已审核"}},
		{"submitted", 0, 0, map[string]string{"run": "本年度已提交", "audit": "本年度已提交", "submit": "本年度已提交"}},
	} {
		got := settleBlocked(rq, c.state, c.open, c.unscored)
		if len(got) != len(c.want) {
			t.Errorf("state %q, %d open, %d unscored: %v, want %v", c.state, c.open, c.unscored, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("state %q, %d open, %d unscored: %s is %q, want %q", c.state, c.open, c.unscored, k, got[k], v)
			}
		}
	}
}
