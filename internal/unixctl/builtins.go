package unixctl

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// listCommands is the built-in "list-commands": the sorted command names
// with their usage, in OVS's layout, or a name → usage object when the
// connection asked for JSON.
func (s *Server) listCommands(_ context.Context, cs *connState, _ []string) (any, error) {
	s.mu.Lock()
	usages := make(map[string]string, len(s.commands))
	for name, c := range s.commands {
		usages[name] = c.usage
	}
	s.mu.Unlock()
	if cs.json {
		return usages, nil
	}
	var b strings.Builder
	b.WriteString("The available commands are:\n")
	for _, name := range slices.Sorted(maps.Keys(usages)) {
		fmt.Fprintf(&b, "  %-23s %s\n", name, usages[name])
	}
	return b.String(), nil
}

// setOptions is the built-in "set-options [--format text|json]" that
// ovs-appctl 3.4 and later send before the command when run with -f json.
// The format applies to the rest of the connection. Options are read the
// way getopt_long reads them: --format=F, --format F, -fF, -f F, or an
// unambiguous prefix of --format.
func setOptions(_ context.Context, cs *connState, args []string) (any, error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		var value string
		var hasValue bool
		switch {
		case arg == "--":
			return "", nil
		case strings.HasPrefix(arg, "--"):
			name, v, eq := strings.Cut(arg[2:], "=")
			if name == "" || !strings.HasPrefix("format", name) {
				return nil, fmt.Errorf("unrecognized option '%s'", arg)
			}
			value, hasValue = v, eq
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			if arg[1] != 'f' {
				return nil, fmt.Errorf("unrecognized option '%c'", arg[1])
			}
			value, hasValue = arg[2:], len(arg) > 2
		default:
			continue // getopt skips non-option arguments
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("option '%s' requires an argument", arg)
			}
			i++
			value = args[i]
		}
		switch strings.ToLower(value) {
		case "text":
			cs.json = false
		case "json":
			cs.json = true
		default:
			return nil, fmt.Errorf("option format has invalid value %s", value)
		}
	}
	return "", nil
}
