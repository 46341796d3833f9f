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
	"github.com/cloudledger/cloudledger/ledger"
)

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
			c := ledger.Command{Key: key, Body: &ledger.SetBandTable{Table: ledger.BandTable{EffectiveFrom: from, Bands: bands}}}
			if err := ledger.ValidateCommand(c); err != nil {
				return &cliError{code: string(err.Code), field: err.Field, message: args[0] + ": " + err.Message, exit: exitFailure}
			}
			return g.submitAndSay(cmd.Context(), "bands set", c, g.l().h("档位表", "band table")+" "+from.String())
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
					t.add(from, b.GetMinScore(), b.GetMaxScore(), b.GetMultiplier())
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
func (g *globals) bandsKey(ctx context.Context, from calendar.Date, bands []ledger.Band, sum string) (string, error) {
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
func bandsDigest(set []*v1.Band, want []ledger.Band) (string, bool) {
	h := sha256.New()
	same := len(set) == len(want)
	for i, b := range set {
		vals := []string{b.GetMinScore(), b.GetMaxScore(), b.GetMultiplier()}
		for j, v := range vals {
			d, err := decimal.NewFromString(v)
			if err != nil {
				same = false
			} else if same {
				same = d.Equal([]decimal.Decimal{want[i].MinScore, want[i].MaxScore, want[i].Multiplier}[j])
			}
			fmt.Fprintf(h, "%s,", d.String())
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), same
}

// readBands reads a band table CSV; a bad row is FILE:LINE: FIELD: CODE: MESSAGE.
func readBands(path string) ([]ledger.Band, string, error) {
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
func parseBands(path string, raw []byte) ([]ledger.Band, error) {
	rowErr := func(line int, field string, code errcode.Code, format string, args ...any) error {
		return &cliError{code: string(code), field: field, message: fmt.Sprintf("%s:%d: %s", path, line, fmt.Sprintf(format, args...)), exit: exitFailure}
	}
	r := csv.NewReader(bufio.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), utf8BOM))))
	r.FieldsPerRecord = len(bandColumns)
	header, err := r.Read()
	if err != nil || strings.Join(header, ",") != strings.Join(bandColumns, ",") {
		return nil, rowErr(1, "header", errcode.Malformed, "want the header %s", strings.Join(bandColumns, ","))
	}
	var bands []ledger.Band
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, rowErr(interchange.CSVErrorLine(err), "", errcode.Malformed, "%v", err)
		}
		line, _ := r.FieldPos(0) // safe: rec has its fields
		var b ledger.Band
		for i, into := range []*decimal.Decimal{&b.MinScore, &b.MaxScore, &b.Multiplier} {
			d, err := ledger.ParseDecimal(strings.TrimSpace(rec[i]))
			if err != nil {
				return nil, rowErr(line, bandColumns[i], errcode.InvalidBandTable, "%q is not a number", rec[i])
			}
			*into = d
		}
		bands = append(bands, b)
	}
	return bands, nil
}
