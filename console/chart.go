package console

import (
	"fmt"
	"github.com/cloudledger/cloudledger/money"
	"html/template"
	"strings"

	"github.com/shopspring/decimal"
)

// Charts are SVG drawn here from numbers and escaped labels: no script, no inline style
// (the CSP allows none), colours by class from console.css.

// Bar is one bar of a chart.
type Bar struct {
	Label string
	Value decimal.Decimal
	Class string
}

// columnChart draws vertical bars (fees by month), the values above them as money.
func columnChart(title string, bars []Bar) template.HTML {
	const w, h, top, bottom, left = 720, 240, 24, 36, 8
	maxV := decimal.Zero
	for _, b := range bars {
		if b.Value.GreaterThan(maxV) {
			maxV = b.Value
		}
	}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s"><title>%s</title>`, w, h, esc(title), esc(title))
	n := max(len(bars), 1)
	slot := float64(w-2*left) / float64(n)
	plot := float64(h - top - bottom)
	fmt.Fprintf(&s, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, h-bottom, w-left, h-bottom)
	for i, b := range bars {
		frac := 0.0
		if maxV.IsPositive() {
			frac, _ = b.Value.Div(maxV).Float64() // drawing only: the figures are the table's
		}
		bh := frac * plot
		x := float64(left) + float64(i)*slot + slot*0.15
		y := float64(h-bottom) - bh
		cls := "bar"
		if b.Class != "" {
			cls += " " + b.Class
		}
		fmt.Fprintf(&s, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
			cls, x, y, slot*0.7, bh, esc(b.Label), esc(money.Grouped(b.Value)))
		fmt.Fprintf(&s, `<text class="label" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+slot*0.35, h-bottom+16, esc(b.Label))
		if b.Value.IsPositive() {
			fmt.Fprintf(&s, `<text class="value" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+slot*0.35, y-4, esc(shortMoney(b.Value)))
		}
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) // every text above went through esc
}

// ratioBars draws one horizontal bar per quota class: A/Q with marks at 100 % and 120 %.
func ratioBars(title string, rows []ratioBar) template.HTML {
	const w, rowH, labelW, textW, scaleMax = 760, 30, 130, 230, 1.5 // the scale ends at 150 %
	h := rowH*len(rows) + 24
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s"><title>%s</title>`, w, h, esc(title), esc(title))
	plotW := float64(w - labelW - textW)
	x0 := float64(labelW)
	for _, mark := range []struct {
		r     float64
		label string
		cls   string
	}{{1.0, "100%", "mark"}, {1.2, "120%", "mark limit"}} {
		x := x0 + plotW*mark.r/scaleMax
		fmt.Fprintf(&s, `<line class="%s" x1="%.1f" y1="0" x2="%.1f" y2="%d"/><text class="label" x="%.1f" y="%d" text-anchor="middle">%s</text>`,
			mark.cls, x, x, h-18, x, h-4, mark.label)
	}
	for i, r := range rows {
		y := float64(i*rowH + 4)
		f, _ := r.Ratio.Float64() // drawing only
		bw := plotW * min(f, scaleMax) / scaleMax
		fmt.Fprintf(&s, `<text class="label" x="%d" y="%.1f">%s</text>`, 4, y+15, esc(r.Label))
		fmt.Fprintf(&s, `<rect class="track" x="%.1f" y="%.1f" width="%.1f" height="18"/>`, x0, y+2, plotW)
		fmt.Fprintf(&s, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="18"><title>%s</title></rect>`, r.Class, x0, y+2, bw, esc(r.Label+" "+r.Text))
		fmt.Fprintf(&s, `<text class="value" x="%.1f" y="%.1f">%s</text>`, x0+plotW+6, y+15, esc(r.Text))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) // every text above went through esc
}

type ratioBar struct {
	Label string
	Ratio decimal.Decimal // A/Q; above 1.5 the bar stops at the edge
	Text  string
	Class string
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// shortMoney is an amount for a chart label: 12.3万 above ten thousand.
func shortMoney(d decimal.Decimal) string {
	if d.Abs().GreaterThanOrEqual(decimal.NewFromInt(10000)) {
		return d.Div(decimal.NewFromInt(10000)).StringFixed(1) + "万"
	}
	return d.StringFixed(0)
}
