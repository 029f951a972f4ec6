package testbed

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ListTables reads tables with one `*-ctl --format=json -- list T -- list U`
// invocation of ctl (so one consistent snapshot) and returns each table's
// rows as column → JSON value (numbers as json.Number). ctl is a ctl wrapper
// such as OVN.SBCtl or VTEP.VtepCtl.
func ListTables(ctl func(...string) (string, error), tables ...string) (map[string][]map[string]any, error) {
	args := []string{"--format=json"}
	for _, tb := range tables {
		args = append(args, "--", "list", tb)
	}
	out, err := ctl(args...)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	d := map[string][]map[string]any{}
	for _, tb := range tables {
		var res struct {
			Data     [][]any  `json:"data"`
			Headings []string `json:"headings"`
		}
		if err := dec.Decode(&res); err != nil {
			return nil, fmt.Errorf("decode list %s: %w\n%s", tb, err, out)
		}
		for _, vals := range res.Data {
			r := map[string]any{}
			for i, h := range res.Headings {
				r[h] = vals[i]
			}
			d[tb] = append(d[tb], r)
		}
	}
	return d, nil
}
