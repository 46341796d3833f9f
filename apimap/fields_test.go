package apimap

import (
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
)

// TestParseExpires: SPEC.md, Interchange formats — expires is a date (end of that day,
// Asia/Shanghai) or an RFC 3339 time.
func TestParseExpires(t *testing.T) {
	cases := []struct {
		in   string
		want string // RFC 3339, "" for the zero time
		code errcode.Code
	}{
		{in: "", want: ""},
		{in: "2026-03-10", want: "2026-03-11T00:00:00+08:00"},
		{in: " 2026-12-31 ", want: "2027-01-01T00:00:00+08:00"},
		{in: "2026-02-28", want: "2026-03-01T00:00:00+08:00"},
		{in: "2026-03-10T18:30:00+08:00", want: "2026-03-10T18:30:00+08:00"},
		{in: "2026-03-10T10:30:00Z", want: "2026-03-10T18:30:00+08:00"},
		{in: "2026-02-29", code: errcode.InvalidDate},
		{in: "2026-3-10", code: errcode.InvalidDate},
		{in: "10/03/2026", code: errcode.InvalidDate},
		{in: "tomorrow", code: errcode.InvalidTime},
		{in: "2026-03-10T18:30:00", code: errcode.InvalidTime},
		{in: "2026-03-10 18:30:00+08:00", code: errcode.InvalidTime},
	}
	for _, c := range cases {
		got, err := ParseExpires(c.in)
		if c.code != "" {
			if err == nil || err.Code != c.code || err.Field != "expires" {
				t.Errorf("%s: %q: %v, want %s on expires", spec, c.in, err, c.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if c.want == "" {
			if !got.IsZero() {
				t.Errorf("%q: %v, want zero", c.in, got)
			}
			continue
		}
		if s := got.Format(time.RFC3339); s != c.want {
			t.Errorf("%s: %q: %s, want %s", spec, c.in, s, c.want)
		}
	}
	// The date form is the instant ledger.ExpiryDay maps back to that day.
	got, _ := ParseExpires("2026-03-10")
	if want := time.Date(2026, 3, 11, 0, 0, 0, 0, time.FixedZone("", 8*3600)); !got.Equal(want) {
		t.Errorf("%v, want %v", got, want)
	}
	if d := ledger.ExpiryDay(got); d.String() != "2026-03-10" {
		t.Errorf("expiry day %s", d)
	}
}

// TestParseTime: SPEC.md, Interchange formats — time is RFC 3339 with an offset.
func TestParseTime(t *testing.T) {
	for in, code := range map[string]errcode.Code{
		"2026-01-02T10:00:00+08:00":           "",
		"2026-01-02T02:00:00Z":                "",
		"2026-01-02T10:00:00.123456789+08:00": "",
		"2026-01-02T10:00:00":                 errcode.InvalidTime,
		"2026-01-02":                          errcode.InvalidTime,
		"2026-01-02T10:00:00+0800":            errcode.InvalidTime,
		"2026-01-02T10:00:00+24:00":           errcode.InvalidTime,
		"2026-01-02T24:00:00+08:00":           errcode.InvalidTime,
		"2026-01-02T10:00:00+08:00 ":          errcode.InvalidTime,
		"":                                    errcode.MissingField,
	} {
		got, err := ParseTime("time", in)
		if code == "" {
			if err != nil {
				t.Errorf("%q: %v", in, err)
			} else if _, off := got.Zone(); off != 8*3600 {
				t.Errorf("%q: not in Asia/Shanghai: %v", in, got)
			}
			continue
		}
		if err == nil || err.Code != code || err.Field != "time" {
			t.Errorf("%s: %q: %v, want %s", spec, in, err, code)
		}
	}
}

// TestParsersShareFieldNames: SPEC.md, Interchange formats — the API server builds commands
// with the same parsers from the same field names, so a value means the same thing there.
func TestParsersShareFieldNames(t *testing.T) {
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	e, err := ParseEvent(get(map[string]string{"op": "usage", "time": "2026-01-02T10:00:00+08:00", "department": "d", "project": "p",
		"provider": "x", "resource": " bucket ", "item": "oss.egress", "quantity": "0.5"}))
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != ledger.KindStandard || e.Resource != "bucket" || e.Quantity.String() != "0.5" {
		t.Errorf("%+v", e)
	}
	if err := ledger.ValidateCommand(ledger.Command{Key: "k", Body: e}); err != nil {
		t.Error(err)
	}
	c, err := ParseCatalogPrice(get(map[string]string{"item": "i", "name": "n", "unit": "u", "billing": "metered", "price": "1", "effective_from": "2026-01-01"}))
	if err != nil || c.Proration != ledger.ProrationDaily {
		t.Errorf("%+v %v", c, err)
	}
	if _, err := ParseProjectQuota(get(map[string]string{"quota": "1e3"})); err == nil || err.Code != errcode.InvalidQuantity || err.Field != "quota" {
		t.Errorf("exponent quota: %v", err)
	}
	if _, err := ParseProvider(get(map[string]string{"contract_start": "2026-01-01"})); err == nil || err.Field != "contract_end" || err.Code != errcode.MissingField {
		t.Errorf("missing contract_end: %v", err)
	}
	if _, err := ParseDepartment(get(map[string]string{"funding": "Budget"})); err == nil || err.Code != errcode.InvalidValue {
		t.Errorf("funding: %v", err)
	}
}
