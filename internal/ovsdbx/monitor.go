package ovsdbx

import (
	"reflect"
	"slices"

	"github.com/ovn-org/libovsdb/client"
)

// ModelMonitor monitors every table of the client's model, asking only for
// the columns the model has. libovsdb's MonitorAll asks for every column
// the *server* has; when a newer server updates a column the model lacks,
// libovsdb fails to apply the whole update to its cache ("column … not
// found"), silently losing the other rows of that update. Asking for the
// model's columns keeps the cache whole against any newer schema.
func ModelMonitor(c client.Client) *client.Monitor {
	m := c.NewMonitor()
	types := c.Cache().DatabaseModel().Types()
	keys := mapsKeys(types)
	slices.Sort(keys)
	for _, table := range keys {
		m.Tables = append(m.Tables, client.TableMonitor{Table: table, Fields: ModelColumns(types[table])})
	}
	return m
}

// ModelColumns returns the OVSDB columns of a model type (its ovsdb tags,
// _uuid excluded).
func ModelColumns(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var cols []string
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("ovsdb")
		if tag != "" && tag != "_uuid" {
			cols = append(cols, tag)
		}
	}
	return cols
}

func mapsKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
