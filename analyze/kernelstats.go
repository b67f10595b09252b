package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// KernelFormat names the text a counter snapshot was read from.
type KernelFormat string

// The formats ParseKernelStats reads, recognised from the content.
const (
	// FormatNstat: nstat's output ("Name value rate" lines, with or
	// without the "#kernel" header), as nstat -az, nstat -asz or plain
	// nstat print it; also /proc/net/snmp6 ("Name value").
	FormatNstat KernelFormat = "nstat"
	// FormatNstatJSON: nstat -j ({"kernel": {"Name": value, ...}}).
	FormatNstatJSON KernelFormat = "nstat -j"
	// FormatProc: the kernel's own files, /proc/net/netstat and
	// /proc/net/snmp, one "Prefix: Name Name ..." line followed by a
	// "Prefix: value value ..." line per group; the files may be
	// concatenated (cat /proc/net/netstat /proc/net/snmp), with
	// /proc/net/snmp6's "Name value" lines among them.
	FormatProc KernelFormat = "/proc/net/netstat"
	// FormatNetstatS: net-tools' netstat -s, which words each counter
	// ("15 times the listen queue of a socket overflowed") and leaves
	// out every TcpExt counter that is zero.
	FormatNetstatS KernelFormat = "netstat -s"
)

// KernelStats is one snapshot of the kernel's SNMP and netstat counters
// (per network namespace, cumulative since it was made: boot for the
// host's), or the difference of two snapshots. Names are nstat's:
// the group prefix and the counter, "TcpExtListenOverflows".
type KernelStats struct {
	// Files are the files read: one, or two (before, after) for a
	// difference; Formats are their formats, in the same order.
	Files   []string
	Formats []KernelFormat
	// Values maps each counter in the file (or in both files) to its
	// value (after minus before for a difference).
	Values map[string]int64
	// Implied marks counters read as 0 because the format leaves zero
	// counters out (netstat -s: a TcpExt counter it prints no line for).
	Implied map[string]bool
	// Lines maps each counter to the line it was read from (of the later
	// file for a difference); 0 for an implied one.
	Lines map[string]int
}

// Difference reports whether the stats are the difference of two
// snapshots.
func (k *KernelStats) Difference() bool { return len(k.Files) == 2 }

// LineError is an input file that cannot be read as what it should be:
// it names the file and the line (0 when the fault is the whole file).
type LineError struct {
	Name string
	Line int
	Msg  string
}

func (e *LineError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
	}
	return e.Name + ": " + e.Msg
}

func lineErr(name string, line int, format string, args ...any) *LineError {
	return &LineError{Name: name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// quoteLine quotes a line of input for a message, cut to 60 bytes.
func quoteLine(s string) string {
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return strconv.Quote(s)
}

var (
	counterName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	// procHeader is a line of /proc/net/netstat or /proc/net/snmp:
	// "TcpExt: SyncookiesSent ..." or "TcpExt: 0 0 ...".
	procLine = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*): (.*)$`)
	// netstatSection is a section header of netstat -s: "TcpExt:".
	netstatSection = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*:$`)
)

// ParseKernelStats reads a counter snapshot: the output of nstat -az,
// nstat -asz, plain nstat, nstat -j, the text of /proc/net/netstat and
// /proc/net/snmp (concatenated, /proc/net/snmp6 too), or netstat -s. The
// format is recognised from the first line that is not blank. A file
// that is none of them, a line that does not fit its format, a value
// that is not an integer, a counter given twice, or a file that holds
// none of the counters in CounterNames is an error naming the file and
// the line (*LineError).
func ParseKernelStats(name string, data []byte) (*KernelStats, error) {
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, lineErr(name, 0, "binary data, not counter text (nstat, /proc/net/netstat, netstat -s)")
	}
	lines := strings.Split(string(data), "\n")
	first := -1
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			first = i
			break
		}
	}
	if first < 0 {
		return nil, lineErr(name, 0, "empty file: want the output of nstat -az, /proc/net/netstat and /proc/net/snmp, or netstat -s")
	}
	k := &KernelStats{Files: []string{name}, Values: map[string]int64{}, Implied: map[string]bool{}, Lines: map[string]int{}}
	head := strings.TrimRight(lines[first], "\r")
	var err error
	switch f := strings.Fields(head); {
	case strings.HasPrefix(strings.TrimSpace(head), "{"):
		k.Formats = []KernelFormat{FormatNstatJSON}
		err = k.parseNstatJSON(name, data)
	case netstatSection.MatchString(head):
		k.Formats = []KernelFormat{FormatNetstatS}
		err = k.parseNetstatS(name, lines)
	case procLine.MatchString(head):
		k.Formats = []KernelFormat{FormatProc}
		err = k.parseProc(name, lines)
	case strings.HasPrefix(head, "#") || len(f) >= 2 && len(f) <= 3 && counterName.MatchString(f[0]) && isInteger(f[1]):
		k.Formats = []KernelFormat{FormatNstat}
		err = k.parseNstat(name, lines)
	default:
		return nil, lineErr(name, first+1, "not the output of nstat, /proc/net/netstat or /proc/net/snmp, or netstat -s: %s", quoteLine(head))
	}
	if err != nil {
		return nil, err
	}
	for _, n := range CounterNames {
		if _, ok := k.Values[n]; ok {
			return k, nil
		}
	}
	return nil, lineErr(name, 0, "%s output without any counter tcptimeline reconciles (%s)", k.Formats[0], strings.Join(CounterNames[:], ", "))
}

func isInteger(s string) bool {
	_, err := parseCounter(s)
	return err == nil
}

// parseCounter reads a counter's value: a signed 64-bit integer, or an
// unsigned one above it (the kernel prints some as unsigned: Tcp MaxConn
// -1 reads 18446744073709551615 in nstat), kept as its two's complement.
func parseCounter(s string) (int64, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	return int64(u), nil
}

// set records one counter, refusing a second value for it.
func (k *KernelStats) set(file string, line int, name, value string) error {
	v, err := parseCounter(value)
	if err != nil {
		return lineErr(file, line, "%s: value %s is not an integer", name, quoteLine(value))
	}
	if prev, ok := k.Lines[name]; ok {
		return lineErr(file, line, "%s is given twice (lines %d and %d): give two snapshots as two files", name, prev, line)
	}
	k.Values[name] = v
	k.Lines[name] = line
	return nil
}

// parseNstat reads nstat's "Name value rate" lines (nstat.c,
// dump_kern_db) and /proc/net/snmp6's "Name value" lines; lines starting
// with '#' ("#kernel") are headers.
func (k *KernelStats) parseNstat(file string, lines []string) error {
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if err := k.nameValue(file, i+1, l); err != nil {
			return err
		}
	}
	return nil
}

// nameValue reads one "Name value [rate]" line.
func (k *KernelStats) nameValue(file string, line int, l string) error {
	f := strings.Fields(l)
	if len(f) < 2 || len(f) > 3 || !counterName.MatchString(f[0]) {
		return lineErr(file, line, "want \"Name value [rate]\" as nstat prints it, got %s", quoteLine(l))
	}
	if len(f) == 3 {
		if _, err := strconv.ParseFloat(f[2], 64); err != nil {
			return lineErr(file, line, "%s: rate %s is not a number", f[0], quoteLine(f[2]))
		}
	}
	return k.set(file, line, f[0], f[1])
}

// parseNstatJSON reads nstat -j: {"kernel": {"Name": value, ...}}.
func (k *KernelStats) parseNstatJSON(file string, data []byte) error {
	var doc map[string]map[string]json.Number
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return lineErr(file, lineAt(data, dec.InputOffset()), "not nstat -j output: %v", err)
	}
	kern, ok := doc["kernel"]
	if !ok {
		return lineErr(file, 1, "nstat -j output has no \"kernel\" object")
	}
	for n, v := range kern {
		line := lineOf(data, `"`+n+`"`)
		if !counterName.MatchString(n) {
			return lineErr(file, line, "%s is not a counter name", quoteLine(n))
		}
		if err := k.set(file, line, n, v.String()); err != nil {
			return err
		}
	}
	return nil
}

// lineAt is the 1-based line of a byte offset.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// lineOf is the line of the first occurrence of s, or 1.
func lineOf(data []byte, s string) int {
	if i := bytes.Index(data, []byte(s)); i >= 0 {
		return lineAt(data, int64(i))
	}
	return 1
}

// parseProc reads the "Prefix: names" / "Prefix: values" pairs of
// /proc/net/netstat and /proc/net/snmp (netstat_seq_show, snmp_seq_show:
// the counter's name is the prefix and the column's name, as nstat
// joins them), and "Name value" lines of /proc/net/snmp6.
func (k *KernelStats) parseProc(file string, lines []string) error {
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\r ")
		if strings.TrimSpace(l) == "" {
			continue
		}
		m := procLine.FindStringSubmatch(l)
		if m == nil {
			if err := k.nameValue(file, i+1, l); err != nil {
				return lineErr(file, i+1, "want a \"Prefix: Name ...\" line of /proc/net/netstat or /proc/net/snmp, or a \"Name value\" line of /proc/net/snmp6, got %s", quoteLine(l))
			}
			continue
		}
		prefix, names := m[1], strings.Fields(m[2])
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		var vm []string
		if j < len(lines) {
			vm = procLine.FindStringSubmatch(strings.TrimRight(lines[j], "\r "))
		}
		if vm == nil || vm[1] != prefix {
			return lineErr(file, i+1, "%s: names without their values: the next line should be \"%s: value ...\"", prefix, prefix)
		}
		values := strings.Fields(vm[2])
		if len(values) != len(names) {
			return lineErr(file, j+1, "%s: %d values for %d names (line %d)", prefix, len(values), len(names), i+1)
		}
		for c, n := range names {
			if !counterName.MatchString(n) {
				return lineErr(file, i+1, "%s: %s is not a counter name", prefix, quoteLine(n))
			}
			if err := k.set(file, j+1, prefix+n, values[c]); err != nil {
				return err
			}
		}
		i = j
	}
	return nil
}

// netstatWording maps net-tools' wording of a counter (statistics.c, as
// net-tools 2.10 prints it, the number first), per section, to the
// counter. Counters net-tools has no wording for it prints as
// "Name: value", which parseNetstatS reads for any name.
var netstatWording = map[string]map[string]string{
	"TcpExt": {
		"times the listen queue of a socket overflowed":  "TcpExtListenOverflows",
		"SYNs to LISTEN sockets dropped":                 "TcpExtListenDrops",
		"SYNs to LISTEN sockets ignored":                 "TcpExtListenDrops", // older net-tools
		"SYN cookies sent":                               "TcpExtSyncookiesSent",
		"SYN cookies received":                           "TcpExtSyncookiesRecv",
		"invalid SYN cookies received":                   "TcpExtSyncookiesFailed",
		"resets received for embryonic SYN_RECV sockets": "TcpExtEmbryonicRsts",
		"connections reset due to early user close":      "TcpExtTCPAbortOnClose",
		"connections reset due to unexpected SYN":        "TcpExtTCPAbortOnSyn",
		"connections reset due to unexpected data":       "TcpExtTCPAbortOnData",
	},
	"Tcp": {
		"active connection openings":  "TcpActiveOpens",
		"passive connection openings": "TcpPassiveOpens",
		"failed connection attempts":  "TcpAttemptFails",
		"connection resets received":  "TcpEstabResets",
		"connections established":     "TcpCurrEstab",
		"segments received":           "TcpInSegs",
		"segments sent out":           "TcpOutSegs",
		"segments retransmitted":      "TcpRetransSegs",
		"bad segments received":       "TcpInErrs",
		"resets sent":                 "TcpOutRsts",
	},
}

// parseNetstatS reads netstat -s: "Section:" lines at the start of a
// line, indented entries under them. Entries worded as in netstatWording
// and "Name: value" entries are read (the section is the prefix:
// "TcpExt:" and "TCPSynRetrans: 15" give TcpExtTCPSynRetrans); other
// wordings are skipped. net-tools leaves out TcpExt counters that are
// zero, so with a TcpExt section present each counter of CounterNames it
// does not print is read as 0 and marked Implied.
func (k *KernelStats) parseNetstatS(file string, lines []string) error {
	section := ""
	tcpExt := false
	for i, raw := range lines {
		l := strings.TrimRight(raw, "\r ")
		if strings.TrimSpace(l) == "" {
			continue
		}
		if l[0] != ' ' && l[0] != '\t' {
			if !netstatSection.MatchString(l) {
				return lineErr(file, i+1, "not netstat -s output: want a section (\"TcpExt:\") or an indented entry, got %s", quoteLine(l))
			}
			section = strings.TrimSuffix(l, ":")
			tcpExt = tcpExt || section == "TcpExt"
			continue
		}
		e := strings.TrimSpace(l)
		if n, v, ok := strings.Cut(e, ": "); ok && counterName.MatchString(n) && !strings.Contains(v, " ") {
			if err := k.set(file, i+1, section+n, v); err != nil {
				return err
			}
			continue
		}
		num, words, ok := strings.Cut(e, " ")
		if !ok {
			continue
		}
		if name, known := netstatWording[section][strings.TrimSuffix(words, ".")]; known {
			if err := k.set(file, i+1, name, num); err != nil {
				return err
			}
		}
	}
	if tcpExt {
		for _, n := range CounterNames {
			if _, ok := k.Values[n]; !ok {
				k.Values[n] = 0
				k.Implied[n] = true
			}
		}
	}
	return nil
}

// Sub returns after minus k (k the earlier snapshot): the counts between
// the two. Only counters in both are kept. A counter of CounterNames that
// is smaller in after is an error naming after's file and line: counters
// only grow, so after is not a later snapshot of the same kernel and
// network namespace (a reboot, a namespace made again, another host, or
// the files given in the wrong order).
func (k *KernelStats) Sub(after *KernelStats) (*KernelStats, error) {
	d := &KernelStats{
		Files:   append(append([]string{}, k.Files...), after.Files...),
		Formats: append(append([]KernelFormat{}, k.Formats...), after.Formats...),
		Values:  map[string]int64{}, Implied: map[string]bool{}, Lines: map[string]int{},
	}
	for n, a := range after.Values {
		b, ok := k.Values[n]
		if !ok {
			continue
		}
		d.Values[n] = a - b
		d.Lines[n] = after.Lines[n]
		d.Implied[n] = after.Implied[n] && k.Implied[n]
		if !d.Implied[n] {
			delete(d.Implied, n)
		}
	}
	for _, n := range CounterNames {
		if v, ok := d.Values[n]; ok && v < 0 {
			return nil, lineErr(after.Files[0], after.Lines[n], "%s is %d, less than %d in %s: counters only grow, so this is not a later snapshot of the same kernel and network namespace (a reboot, a namespace made again, another host, or the files in the wrong order: give the earlier one first)",
				n, after.Values[n], k.Values[n], k.Files[0])
		}
	}
	return d, nil
}
