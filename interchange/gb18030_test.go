package interchange

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Issue 22: a GB18030 file with a byte sequence that is not GB18030 is refused with its
// line and column; before, x/text's decoder wrote U+FFFD into the department's name for
// ever (this test failed then). A good GB18030 file reads as the same UTF-8.
func TestGB18030RefusesInvalidSequences(t *testing.T) {
	good := "department,name,parent,funding\nedu,市教育局,,budget\nbus,市公交集团€,,self\n"
	enc, err := simplifiedchinese.GB18030.NewEncoder().String(good)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	d, c, err := OpenFileEncoded(KindDepartments, write("good.csv", enc), EncodingGB18030)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for {
		r, rerr, ok := d.Next()
		if !ok {
			break
		}
		if rerr != nil {
			t.Fatalf("a good GB18030 file: %v", rerr)
		}
		names = append(names, r.Command.GetDepartment().GetName())
	}
	c.Close()
	if strings.Join(names, "|") != "市教育局|市公交集团€" {
		t.Fatalf("decoded %q", names)
	}

	// Line 3: "市" then a lone lead byte 0x81 followed by a comma, which GB18030 has no
	// character for: b, u, s, ',' and 市 are columns 1–5, the bad byte column 6.
	lines := strings.Split(enc, "\n")
	bad := strings.Join([]string{lines[0], lines[1], "bus," + string([]byte{0xCA, 0xD0, 0x81}) + ",,self", ""}, "\n")
	d, c, err = OpenFileEncoded(KindDepartments, write("bad.csv", bad), EncodingGB18030)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var last string
	for {
		_, rerr, ok := d.Next()
		if !ok {
			break
		}
		if rerr != nil {
			last = rerr.Error()
		}
	}
	if !strings.Contains(last, "line 3, column 6") || !strings.Contains(last, "0x81") {
		t.Fatalf("the bad file's error: %q, want line 3, column 6, byte 0x81", last)
	}
}
