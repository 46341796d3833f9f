package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// Limits of calendar commands.
const (
	maxWorkingDays       = 366     // as the API allows
	maxCalendarFileBytes = 1 << 20 // a holiday-cn year file is a few KiB
)

func newCalendarCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "calendar",
		Short: "Official working-day calendar (工作日)",
		Long: `Working days follow the official Chinese calendar (国务院办公厅 holiday notices): weekends
and public holidays are off, adjusted working weekends (调休) are on. A date in a year the
ledger has no schedule for is an error (calendar_year_unknown).`,
		RunE: needSubcommand,
	}
	var before, from string
	var deadlineDays, dueDays int
	deadline := &cobra.Command{
		Use:   "deadline",
		Short: "The last day to act N working days before DATE (the day itself not counted)",
		Long: `Print the last day to act: N working days back from --before, that day itself not counted
(SPEC: an extension must be requested on or before this day). Prints YYYY-MM-DD.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkCalendarArgs("before", before, deadlineDays); err != nil {
				return err
			}
			return g.calendarCall(cmd.Context(), func(ctx context.Context, c *client) (string, error) {
				res, err := unary(ctx, c, readPolicy, "calendar deadline",
					&v1.CalendarDeadlineRequest{Before: before, WorkingDays: int32(deadlineDays)},
					func(ep *endpoint) rpc[v1.CalendarDeadlineRequest, v1.CalendarDeadlineResponse] {
						return ep.ledger.CalendarDeadline
					})
				return res.GetDate(), err
			})
		}),
	}
	deadline.Flags().StringVar(&before, "before", "", "the date to count back from, YYYY-MM-DD (required)")
	deadline.Flags().IntVar(&deadlineDays, "working-days", 0, "working days N (required)")
	_ = deadline.MarkFlagRequired("before")
	_ = deadline.MarkFlagRequired("working-days")

	due := &cobra.Command{
		Use:   "due",
		Short: "The day N working days after DATE",
		Long:  `Print the day N working days after --from (the day itself not counted), YYYY-MM-DD.`,
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkCalendarArgs("from", from, dueDays); err != nil {
				return err
			}
			return g.calendarCall(cmd.Context(), func(ctx context.Context, c *client) (string, error) {
				res, err := unary(ctx, c, readPolicy, "calendar due",
					&v1.CalendarDueRequest{From: from, WorkingDays: int32(dueDays)},
					func(ep *endpoint) rpc[v1.CalendarDueRequest, v1.CalendarDueResponse] { return ep.ledger.CalendarDue })
				return res.GetDate(), err
			})
		}),
	}
	due.Flags().StringVar(&from, "from", "", "the date to count from, YYYY-MM-DD (required)")
	due.Flags().IntVar(&dueDays, "working-days", 0, "working days N (required)")
	_ = due.MarkFlagRequired("from")
	_ = due.MarkFlagRequired("working-days")

	load := &cobra.Command{
		Use:   "load FILE.json",
		Short: "Load a newly published year of the official schedule (holiday-cn JSON layout)",
		Long: `Load (or replace) one year of the official schedule from a file in the holiday-cn layout:
  {"year": 2027, "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}, …]}
isOffDay true is a holiday, false an adjusted working weekend (调休); days not listed are
ordinary. The file is checked locally before it is sent.`,
		Args: cobra.ExactArgs(1),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			c, year, err := calendarLoadCommand(g.keyFor("calendar"), args[0])
			if err != nil {
				return err
			}
			r, err := g.submitOne(cmd.Context(), "calendar load", c)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "%s %d: %s\n", g.l().h("日历", "calendar"), year, resultText(g.l(), r))
			return err
		}),
	}
	cmd.AddCommand(deadline, due, load)
	return cmd
}

func checkCalendarArgs(field, date string, n int) error {
	if _, err := calendar.ParseDate(date); err != nil {
		return inputErr(errcode.InvalidDate, field, "must be a date YYYY-MM-DD, got %q", date)
	}
	if n < 1 || n > maxWorkingDays {
		return inputErr(errcode.InvalidValue, "working-days", "must be 1 to %d, got %d", maxWorkingDays, n)
	}
	return nil
}

// calendarCall runs a calendar read and prints the date it returns.
func (g *globals) calendarCall(ctx context.Context, call func(context.Context, *client) (string, error)) error {
	c, err := g.conn()
	if err != nil {
		return err
	}
	d, err := call(ctx, c)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(g.stdout, d)
	return err
}

// calendarLoadCommand reads and checks a holiday-cn year file and returns the CalendarYear
// command that carries it unchanged.
func calendarLoadCommand(key, path string) (*v1.Command, int, error) {
	data, err := readSmallFile(path, maxCalendarFileBytes)
	if err != nil {
		return nil, 0, &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
	}
	s, err := calendar.ParseYearSchedule(data)
	if err != nil {
		return nil, 0, &cliError{code: string(errcode.InvalidValue), message: path + ": " + err.Error(), exit: exitFailure}
	}
	return &v1.Command{Key: key, Body: &v1.Command_CalendarYear{CalendarYear: &v1.CalendarYear{Json: string(data)}}}, s.Year, nil
}

// readSmallFile reads a whole file of at most limit bytes.
func readSmallFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, errors.New(path + ": larger than " + fmt.Sprint(limit) + " bytes")
	}
	return data, nil
}
