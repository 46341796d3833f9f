// Package procmem reads a process's resident memory by mapped file from Linux's
// /proc/PID/smaps, for tests and benchmarks that state what a node holds: bbolt reads the
// state file and the Raft log through mmap, and their pages count in the resident set.
package procmem

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MappedResident returns, for each suffix, the resident bytes of pid's mappings of files
// whose path ends in it, and whether any such mapping exists. pid 0 is this process.
func MappedResident(pid int, suffixes ...string) (resident map[string]int64, mapped map[string]bool, err error) {
	proc := "self"
	if pid != 0 {
		proc = strconv.Itoa(pid)
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%s/smaps", proc))
	if err != nil {
		return nil, nil, err
	}
	resident, mapped = map[string]int64{}, map[string]bool{}
	current := "" // the suffix the mapping being read ends in
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") { // a mapping's header
			current = ""
			for _, s := range suffixes {
				if strings.HasSuffix(line, s) {
					current, mapped[s] = s, true
				}
			}
			continue
		}
		if current != "" && len(f) == 3 && f[0] == "Rss:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			resident[current] += kb << 10
		}
	}
	return resident, mapped, nil
}
