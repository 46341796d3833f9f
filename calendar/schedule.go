package calendar

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MinScheduleYear and MaxScheduleYear bound the years a schedule may describe. The
// State Council has published notices in this form since the 1990s; anything far
// outside is a typo.
const (
	MinScheduleYear = 1990
	MaxScheduleYear = 2200
)

// Day is one entry of a year's notice, in the holiday-cn layout.
//
// IsOffDay true is a holiday: off even when it falls on a weekday. IsOffDay false is
// an adjusted working weekend (调休): a Saturday or Sunday that is worked.
type Day struct {
	Name     string `json:"name"`
	Date     string `json:"date"`
	IsOffDay bool   `json:"isOffDay"`
}

// YearSchedule is one year's official schedule, in the holiday-cn layout:
//
//	{"year": 2027, "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}, ...]}
//
// Days not listed are ordinary: Monday to Friday worked, Saturday and Sunday off.
type YearSchedule struct {
	Year int   `json:"year"`
	Days []Day `json:"days"`
}

// ParseYearSchedule parses and validates one year's schedule. It is strict because a
// loaded schedule decides deadlines for a whole year: every key it reads must be
// spelled exactly, with the right JSON type, and appear once; "year", "days" and each
// day's "date" and "isOffDay" are required (a missing isOffDay would otherwise read
// as false and turn a holiday into a working day). Keys it does not know are ignored,
// so the files published by holiday-cn, which also carry "$schema", "$id" and
// "papers", load unchanged. The result then passes Validate. Errors name the entry
// (days[i] and its date) and the reason.
func ParseYearSchedule(data []byte) (YearSchedule, error) {
	if !json.Valid(data) {
		// Unmarshal only to get encoding/json's description of the syntax error.
		err := json.Unmarshal(data, new(any))
		if err == nil {
			err = fmt.Errorf("invalid JSON")
		}
		return YearSchedule{}, fmt.Errorf("calendar: schedule is not valid JSON: %v", err)
	}
	top, err := objectFields(data)
	if err != nil {
		return YearSchedule{}, fmt.Errorf("calendar: schedule: %v", err)
	}
	var s YearSchedule
	rawYear, ok := top["year"]
	if !ok {
		return YearSchedule{}, fmt.Errorf("calendar: schedule has no \"year\"")
	}
	if err := decodeInt(rawYear, &s.Year); err != nil {
		return YearSchedule{}, fmt.Errorf("calendar: schedule \"year\": %v", err)
	}
	rawDays, ok := top["days"]
	if !ok {
		return YearSchedule{}, fmt.Errorf("calendar: schedule for %d has no \"days\"", s.Year)
	}
	items, err := arrayItems(rawDays)
	if err != nil {
		return YearSchedule{}, fmt.Errorf("calendar: schedule for %d \"days\": %v", s.Year, err)
	}
	s.Days = make([]Day, 0, len(items))
	for i, raw := range items {
		d, err := parseDay(raw)
		if err != nil {
			return YearSchedule{}, fmt.Errorf("calendar: schedule for %d: days[%d]: %v", s.Year, i, err)
		}
		s.Days = append(s.Days, d)
	}
	if err := s.Validate(); err != nil {
		return YearSchedule{}, err
	}
	return s, nil
}

func parseDay(raw json.RawMessage) (Day, error) {
	fields, err := objectFields(raw)
	if err != nil {
		return Day{}, err
	}
	var d Day
	rawDate, ok := fields["date"]
	if !ok {
		return Day{}, fmt.Errorf("no \"date\"")
	}
	if err := decodeString(rawDate, &d.Date); err != nil {
		return Day{}, fmt.Errorf("\"date\": %v", err)
	}
	// The name is informational (error messages, listings), so it may be absent.
	if rawName, ok := fields["name"]; ok {
		if err := decodeString(rawName, &d.Name); err != nil {
			return Day{}, fmt.Errorf("%s: \"name\": %v", d.Date, err)
		}
	}
	rawOff, ok := fields["isOffDay"]
	if !ok {
		return Day{}, fmt.Errorf("%s: no \"isOffDay\" (true for a holiday, false for an adjusted working weekend)", d.Date)
	}
	if err := decodeBool(rawOff, &d.IsOffDay); err != nil {
		return Day{}, fmt.Errorf("%s: \"isOffDay\": %v", d.Date, err)
	}
	return d, nil
}

// objectFields splits a JSON object into its members, rejecting duplicate keys: with
// encoding/json the last duplicate would silently win. Keys are matched exactly by
// the callers, unlike encoding/json's case-insensitive matching.
func objectFields(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object, got %s", kindOf(raw))
	}
	out := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("bad object key %v", tok)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("key %q appears more than once", key)
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, err
	}
	return out, nil
}

// arrayItems splits a JSON array into its elements; null is not an empty array.
func arrayItems(raw []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, fmt.Errorf("want a JSON array, got %s", kindOf(raw))
	}
	var out []json.RawMessage
	for dec.More() {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, err
	}
	return out, nil
}

// kindOf names the JSON type of a value for error messages.
func kindOf(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// The decode helpers check the JSON type first because encoding/json quietly
// accepts null for any Go type and leaves the zero value behind.

func decodeString(raw []byte, s *string) error {
	if k := kindOf(raw); k != "a string" {
		return fmt.Errorf("want a string, got %s", k)
	}
	return json.Unmarshal(raw, s)
}

func decodeBool(raw []byte, b *bool) error {
	if k := kindOf(raw); k != "a boolean" {
		return fmt.Errorf("want true or false, got %s", k)
	}
	return json.Unmarshal(raw, b)
}

func decodeInt(raw []byte, n *int) error {
	if k := kindOf(raw); k != "a number" {
		return fmt.Errorf("want a whole number, got %s", k)
	}
	if err := json.Unmarshal(raw, n); err != nil {
		return fmt.Errorf("want a whole number, got %s", bytes.TrimSpace(raw))
	}
	return nil
}

// Validate checks the rules every schedule must meet, whether parsed or built in Go:
//   - the year is within MinScheduleYear..MaxScheduleYear;
//   - there is at least one day: holiday-cn publishes an empty placeholder file for a
//     year before its notice is out, and loading it would make the year "known" with
//     weekends only, the silent guess the spec forbids;
//   - each date is a real "YYYY-MM-DD" day inside the year, listed once;
//   - each adjusted working day (isOffDay false) is a Saturday or Sunday: a weekday
//     is worked anyway, so such an entry can only be a mistyped date.
func (s YearSchedule) Validate() error {
	if s.Year < MinScheduleYear || s.Year > MaxScheduleYear {
		return fmt.Errorf("calendar: schedule year %d is outside %d..%d", s.Year, MinScheduleYear, MaxScheduleYear)
	}
	if len(s.Days) == 0 {
		return fmt.Errorf("calendar: schedule for %d lists no days (has the %d notice been published?)", s.Year, s.Year)
	}
	seen := make(map[Date]int, len(s.Days))
	for i, day := range s.Days {
		d, err := parseDate(day.Date)
		if err != nil {
			return fmt.Errorf("calendar: schedule for %d: days[%d]: %v", s.Year, i, err)
		}
		if d.Year != s.Year {
			return fmt.Errorf("calendar: schedule for %d: days[%d]: date %s is outside %d", s.Year, i, d, s.Year)
		}
		if j, dup := seen[d]; dup {
			return fmt.Errorf("calendar: schedule for %d: days[%d]: date %s is already listed at days[%d]", s.Year, i, d, j)
		}
		seen[d] = i
		if !day.IsOffDay && !isWeekend(d) {
			return fmt.Errorf("calendar: schedule for %d: days[%d]: %s is a %s; an adjusted working day (isOffDay false) must be a Saturday or Sunday", s.Year, i, d, d.Weekday())
		}
	}
	return nil
}

func isWeekend(d Date) bool {
	wd := d.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// clone copies s so that callers cannot change a schedule held by someone else.
func (s YearSchedule) clone() YearSchedule {
	s.Days = append([]Day(nil), s.Days...)
	return s
}

//go:embed data/*.json
var builtinFS embed.FS

// builtinFiles are the embedded notices, oldest first.
var builtinFiles = []string{"data/2025.json", "data/2026.json"}

// Builtin returns the schedules shipped with this release (2025 and 2026), parsed
// afresh on every call so that no caller can alter another's copy.
//
// Sources: 国务院办公厅关于2025年部分节假日安排的通知 and 国务院办公厅关于2026年部分节假日
// 安排的通知. Every off day is listed individually, as holiday-cn does.
func Builtin() []YearSchedule {
	return slices.Clone(builtinSchedules()) // a slice of its own (callers append); the calendars clone the days
}

// builtinSchedules parses the embedded schedules once: every read of the ledger's state
// starts from them.
var builtinSchedules = sync.OnceValue(func() []YearSchedule {
	out := make([]YearSchedule, 0, len(builtinFiles))
	for _, name := range builtinFiles {
		data, err := builtinFS.ReadFile(name)
		if err != nil {
			panic("calendar: embedded schedule missing: " + err.Error())
		}
		s, err := ParseYearSchedule(data)
		if err != nil {
			// The embedded files are fixed at build time and checked by the tests.
			panic(fmt.Sprintf("calendar: embedded %s is invalid: %v", name, err))
		}
		out = append(out, s)
	}
	return out
})
