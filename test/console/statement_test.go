package console

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// Issue 27, must show 4: the monthly statement printed to PDF in Chromium, read back with
// poppler's pdftotext, is a document to seal. September 2026 of the demo data set is the
// month to print: aliyun's evaluation scores stop on 31 August, ctyun's run to 30
// September, and edu uses both — so its statement has lines marked 暂估 beside scored
// ones. The department's statement carries the department's name and seal box, the
// provider's the provider's; neither shows a Raft index.
func TestStatementPrintsAsADocumentToSeal(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatalf("no pdftotext (apt-get install -y poppler-utils): %v", err)
	}
	d := startDemo(t, testcluster.Options{})
	ctx := browserCtx(t, t.TempDir())
	for _, c := range []struct {
		account, path string
		want, not     []string
	}{
		{"edu-it", "/d/edu/statement?month=2026-09",
			[]string{"月度使用情况表", "市教育局", "2026年9月", "使用单位（盖章）", "暂估", "暂估说明", "已评分", "阿里云：2026年9月1日", "文件编号", "状态索引", "SHA-256"},
			[]string{"云服务商（盖章）", "Raft", "共识日志", "本月至今"}},
		{"aliyun-am", "/p/aliyun/statement?month=2026-09",
			[]string{"阿里云", "2026年9月", "云服务商（盖章）", "暂估", "市教育局"},
			[]string{"使用单位（盖章）", "Raft", "共识日志"}},
	} {
		signIn(t, ctx, d.url, c.account)
		run(t, ctx, chromedp.Navigate(d.url+c.path), chromedp.WaitVisible(chromedp.CSS(`.stamp`)))
		pdf, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{})
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "statement.pdf")
		if err := os.WriteFile(file, pdf.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		cmd := exec.CommandContext(context.Background(), "pdftotext", "-enc", "UTF-8", file, "-")
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		// pdftotext may break a line inside a phrase: read the text without whitespace.
		text := strings.Join(strings.Fields(out.String()), "")
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s %s printed lacks %s:\n%.3000s", c.account, c.path, w, out.String())
			}
		}
		for _, w := range c.not {
			if strings.Contains(text, w) {
				t.Errorf("%s %s printed shows %s", c.account, c.path, w)
			}
		}
		signOut(t, ctx)
	}
}
