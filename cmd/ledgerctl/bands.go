package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
)

// band is one row of a band table file: scores min ≤ s < max get the multiplier.
type band struct{ min, max, mult decimal.Decimal }

// plainDecimal reads a plain decimal number (no exponent). The ledger applies its own
// limits to what it receives; this only catches what is not a number at all.
func plainDecimal(s string) (decimal.Decimal, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "eE") {
		return decimal.Zero, fmt.Errorf("%q is not a plain decimal", s)
	}
	return decimal.NewFromString(s)
}

// bandColumns is the header of a band table file.
var bandColumns = []string{"min_score", "max_score", "multiplier"}

func newBandsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bands",
		Short: "Evaluation score bands: score → payment multiplier (考核得分档位)",
		RunE:  needSubcommand,
	}
	var effective string
	set := &cobra.Command{
		Use:   "set --effective-from DATE FILE.csv",
		Short: "Set the band table in force from a date",
		Long: `Set the table that maps an evaluation score to a multiplier from --effective-from on (until
the next table); RATING_DEFAULTS.md's default applies before the first one. FILE is a CSV
with the header ` + strings.Join(bandColumns, ",") + `, one band per row: scores
min_score ≤ s < max_score (the last band includes 100) get the multiplier. The bands must
cover 0–100 without overlap or gap (invalid_band_table otherwise). The idempotency key is
made from the date and the file's content, so setting the same table twice changes nothing;
when another table is set for that date, the key also names that table, so that going back
to an earlier table (A, then B, then A again) applies A again rather than being taken for
the first request repeated.`,
		Args: cobra.ExactArgs(1),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			from, err := calendar.ParseDate(effective)
			if err != nil {
				return inputErr(errcode.InvalidDate, "effective-from", "must be a date YYYY-MM-DD, got %q", effective)
			}
			bands, sum, err := readBands(args[0])
			if err != nil {
				return err
			}
			key := g.key
			if key == "" {
				if key, err = g.bandsKey(cmd.Context(), from, bands, sum); err != nil {
					return err
				}
			}
			bt := &v1.BandTable{EffectiveFrom: from.String()}
			for _, b := range bands {
				bt.Bands = append(bt.Bands, &v1.Band{MinScore: b.min.String(), MaxScore: b.max.String(), Multiplier: b.mult.String()})
			}
			c := &v1.Command{Key: key, Body: &v1.Command_BandTable{BandTable: bt}}
			r, err := g.submitOne(cmd.Context(), "bands set", c)
			if err != nil {
				if ce := callFailure(err); ce != nil && inputCodes[ce.code] {
					ce.message = args[0] + ": " + ce.message
					return ce
				}
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "%s: %s\n", g.l().h("档位表", "band table")+" "+from.String(), resultText(g.l(), r))
			return err
		}),
	}
	set.Flags().StringVar(&effective, "effective-from", "", "first day the table applies, YYYY-MM-DD (required)")
	_ = set.MarkFlagRequired("effective-from")
	var format string
	show := &cobra.Command{
		Use:   "show",
		Short: "List the band tables set on the ledger, and the default",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatJSON); err != nil {
				return err
			}
			res, err := call(cmd.Context(), g, readPolicy, "bands show", &v1.BandTablesRequest{},
				func(ep *endpoint) rpc[v1.BandTablesRequest, v1.BandTablesResponse] { return ep.ledger.BandTables })
			if err != nil {
				return err
			}
			if format == formatJSON {
				return writeJSON(g.stdout, res)
			}
			l := g.l()
			t := &table{headers: []string{l.h("生效日期", "Effective from"), l.h("得分下限", "Min score"), l.h("得分上限", "Max score"), l.h("倍数", "Multiplier")},
				right: []bool{false, true, true, true}}
			add := func(from string, bt *v1.BandTable) {
				for _, b := range bt.GetBands() {
					t.add(from, b.GetMinScore(), b.GetMaxScore(), twoDecimalsAtLeast(b.GetMultiplier()))
				}
			}
			add(l.h("默认", "default"), res.GetDefaultTable())
			for _, bt := range res.GetTables() {
				add(bt.GetEffectiveFrom(), bt)
			}
			return t.render(g.stdout)
		}),
	}
	show.Flags().StringVar(&format, "format", formatTable, "table or json")
	cmd.AddCommand(set, show)
	return cmd
}

// bandsKey is the idempotency key of setting bands from a date: "bands:DATE:FILESUM", and
// when a different table is set for that date, ":after:" and that table's digest too.
func (g *globals) bandsKey(ctx context.Context, from calendar.Date, bands []band, sum string) (string, error) {
	key := "bands:" + from.String() + ":" + sum
	res, err := call(ctx, g, readPolicy, "bands set", &v1.BandTablesRequest{},
		func(ep *endpoint) rpc[v1.BandTablesRequest, v1.BandTablesResponse] { return ep.ledger.BandTables })
	if err != nil {
		return "", err
	}
	for _, bt := range res.GetTables() {
		if bt.GetEffectiveFrom() != from.String() {
			continue
		}
		if digest, same := bandsDigest(bt.GetBands(), bands); !same {
			key += ":after:" + digest
		}
	}
	return key, nil
}

// bandsDigest is a digest of the bands set on the ledger, and whether they equal want.
func bandsDigest(set []*v1.Band, want []band) (string, bool) {
	h := sha256.New()
	same := len(set) == len(want)
	for i, b := range set {
		vals := []string{b.GetMinScore(), b.GetMaxScore(), b.GetMultiplier()}
		for j, v := range vals {
			d, err := decimal.NewFromString(v)
			if err != nil {
				same = false
			} else if same {
				same = d.Equal([]decimal.Decimal{want[i].min, want[i].max, want[i].mult}[j])
			}
			fmt.Fprintf(h, "%s,", d.String())
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), same
}

// readBands reads a band table CSV; a bad row is FILE:LINE: FIELD: CODE: MESSAGE.
func readBands(path string) ([]band, string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, "", &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
	}
	bands, err := parseBands(path, raw)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(raw)
	return bands, hex.EncodeToString(sum[:8]), nil
}

// parseBands decodes a band table file's content.
func parseBands(path string, raw []byte) ([]band, error) {
	var bands []band
	err := readCSVTable(path, raw, bandColumns, func(line int, rec []string) error {
		var b band
		for i, into := range []*decimal.Decimal{&b.min, &b.max, &b.mult} {
			d, err := plainDecimal(rec[i])
			if err != nil {
				return rowError(path, line, bandColumns[i], errcode.InvalidBandTable, "%q is not a number", rec[i])
			}
			*into = d
		}
		bands = append(bands, b)
		return nil
	})
	return bands, err
}

// readCSVTable reads a small CSV file with exactly the header columns (a UTF-8 BOM, as
// Excel writes, is allowed) and calls row for each record with its line; errors name the
// file and line.
func readCSVTable(path string, raw []byte, columns []string, row func(line int, rec []string) error) error {
	r := csv.NewReader(bufio.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), utf8BOM))))
	r.FieldsPerRecord = len(columns)
	header, err := r.Read()
	if err != nil || strings.Join(header, ",") != strings.Join(columns, ",") {
		return rowError(path, 1, "header", errcode.Malformed, "want the header %s", strings.Join(columns, ","))
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return rowError(path, interchange.CSVErrorLine(err), "", errcode.Malformed, "%v", err)
		}
		line, _ := r.FieldPos(0) // safe: rec has its fields
		if err := row(line, rec); err != nil {
			return err
		}
	}
}

// rowError is a refused row of a file read by readCSVTable: FILE:LINE: message, with its code.
func rowError(path string, line int, field string, code errcode.Code, format string, args ...any) error {
	return &cliError{code: string(code), field: field, message: fmt.Sprintf("%s:%d: %s", path, line, fmt.Sprintf(format, args...)), exit: exitFailure}
}

// twoDecimalsAtLeast shows a multiplier as people read one, 0.70 and 0.955, from the
// API's exact text (0.7, 0.955).
func twoDecimalsAtLeast(s string) string {
	i := strings.IndexByte(s, '.')
	switch {
	case i < 0:
		return s + ".00"
	case len(s)-i-1 < 2:
		return s + strings.Repeat("0", 2-(len(s)-i-1))
	}
	return s
}
