package main

import (
	"fmt"
	"github.com/cloudledger/cloudledger/evaluation"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/cloudledger/cloudledger/money"
)

const formatXLSX = "xlsx"

// The evaluation report's sheets (SPEC: Evaluation): the providers' quarters, the yearly
// scores (with --year) and the department efficiency table.
const (
	sheetEvalScores     = "评估得分"
	sheetEvalYearly     = "年度得分"
	sheetEvalEfficiency = "部门效率"
)

// xlsxCell is a cell: text, or a number written from its exact decimal text.
type xlsxCell struct {
	text   string
	number bool
}

func txt(s string) xlsxCell { return xlsxCell{text: s} }
func num(s string) xlsxCell { return xlsxCell{text: s, number: true} }

// writeEvalXLSX writes the report as a workbook: headers in Chinese with English beneath,
// every figure (raw value, points, weight, score, multiplier, efficiency, rank) a number
// cell, an indicator without data and a provider without a score left empty.
func writeEvalXLSX(w io.Writer, rep evalReportJSON) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetDocProps(&excelize.DocProperties{Title: "服务质量考核评估报告 / Evaluation report", Creator: "CloudLedger", Language: "zh-CN",
		Created: "2000-01-01T00:00:00Z", Modified: "2000-01-01T00:00:00Z"}); err != nil {
		return err
	}
	if err := f.SetSheetName("Sheet1", sheetEvalScores); err != nil {
		return err
	}
	zh := []string{"季度", "云服务商", "状态"}
	for _, ind := range evaluation.Indicators {
		n, _ := ind.Name()
		zh = append(zh, n+"原始值", n+"得分", n+"权重")
	}
	zh = append(zh, "得分", "倍数", "专家评审文号", "录入得分（该日期段内优先）")
	en := evalColumns()
	status := map[string]string{"published": "已发布", "draft": "草稿"}
	var rows [][]xlsxCell
	for _, r := range rep.Rows {
		row := []xlsxCell{txt(r.Quarter), txt(r.Provider), txt(status[r.Status])}
		for _, ind := range evaluation.Indicators {
			x := r.Indicators[string(ind)]
			if x.HasData {
				row = append(row, num(x.Raw), num(x.Points), num(x.Weight))
			} else {
				row = append(row, txt(""), txt(""), num(x.Weight))
			}
		}
		if r.Scored {
			row = append(row, num(r.Score), num(r.Multiplier))
		} else {
			row = append(row, txt(""), txt(""))
		}
		rows = append(rows, append(row, txt(r.ExpertRef), txt(enteredText(r))))
	}
	if err := evalSheet(f, sheetEvalScores, zh, en, rows); err != nil {
		return err
	}
	if len(rep.Yearly) > 0 {
		var yr [][]xlsxCell
		for _, y := range rep.Yearly {
			flag := ""
			switch {
			case y.Flagged:
				flag = "连续两年不合格，应予更换"
			case y.BelowPass:
				flag = "不合格"
			}
			yr = append(yr, []xlsxCell{num(strconv.Itoa(int(y.Year))), txt(y.Provider), num(y.Score), num(fmt.Sprint(y.Quarters)), num(y.PassScore), txt(flag)})
		}
		if _, err := f.NewSheet(sheetEvalYearly); err != nil {
			return err
		}
		if err := evalSheet(f, sheetEvalYearly, []string{"结算年度", "云服务商", "年度得分", "已发布季度数", "合格线", "结论"},
			[]string{"year", "provider", "score", "quarters", "pass_score", "flag"}, yr); err != nil {
			return err
		}
	}
	var er [][]xlsxCell
	for _, e := range rep.Efficiency {
		er = append(er, []xlsxCell{txt(e.Quarter), txt(e.Department), txt(e.QuotaClass), num(e.EfficiencyPct), num(fmt.Sprint(e.ResourceDays)),
			num(fmt.Sprint(e.Rank)), num(fmt.Sprint(e.Ranked))})
	}
	if _, err := f.NewSheet(sheetEvalEfficiency); err != nil {
		return err
	}
	if err := evalSheet(f, sheetEvalEfficiency, []string{"季度", "使用单位", "配额类别", "使用效率(%)", "资源日", "排名", "参与排名单位数"},
		[]string{"quarter", "department", "quota_class", "efficiency_pct", "resource_days", "rank", "ranked"}, er); err != nil {
		return err
	}
	_, err := f.WriteTo(w)
	return err
}

// evalSheet writes a sheet: the Chinese header, the English one beneath, then the rows. A
// number cell whose text a float64 would not print back exactly stays text.
func evalSheet(f *excelize.File, sheet string, zh, en []string, rows [][]xlsxCell) error {
	set := func(row int, cells []xlsxCell) error {
		for i, c := range cells {
			if c.text == "" {
				continue // an empty cell: no data, no score
			}
			ref, err := excelize.CoordinatesToCellName(i+1, row)
			if err != nil {
				return err
			}
			if v, ok := money.ExcelNumber(c.text); c.number && ok {
				err = f.SetCellValue(sheet, ref, v)
			} else {
				err = f.SetCellStr(sheet, ref, c.text)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	head := func(names []string) []xlsxCell {
		out := make([]xlsxCell, len(names))
		for i, n := range names {
			out[i] = txt(n)
		}
		return out
	}
	if err := set(1, head(zh)); err != nil {
		return err
	}
	if err := set(2, head(en)); err != nil {
		return err
	}
	for i, r := range rows {
		if err := set(i+3, r); err != nil {
			return err
		}
	}
	return f.SetColWidth(sheet, "A", "Z", 14)
}
