package sbsync

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/ovn-org/libovsdb/mapper"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"
)

type mapperInfo = mapper.Info

// opBuilder builds SB operations from model rows, encoding them with
// libovsdb's mapper for the server's schema (the builder's one use of
// libovsdb on the southbound). Its methods have the shape of libovsdb's
// client API that sbsync used before, for the operations it writes:
// Create(rows), Where(row).Update(row, &row.Field…), Where(row).Delete().
type opBuilder struct{ dbm model.DatabaseModel }

func newOpBuilder(schema ovsdb.DatabaseSchema) (*opBuilder, error) {
	cm, err := sbModel()
	if err != nil {
		return nil, err
	}
	dbm, errs := model.NewDatabaseModel(schema, cm)
	if len(errs) > 0 {
		return nil, fmt.Errorf("southbound model against the server's schema %s: %w", schema.Version, errors.Join(errs...))
	}
	return &opBuilder{dbm: dbm}, nil
}

func (o *opBuilder) table(m model.Model) (string, *mapperInfo, error) {
	name := o.dbm.FindTable(reflect.TypeOf(m))
	if name == "" {
		return "", nil, fmt.Errorf("%T is not a southbound model", m)
	}
	info, err := o.dbm.NewModelInfo(m)
	if err != nil {
		return "", nil, err
	}
	return name, info, nil
}

// Create returns one insert per row. A row's UUID, if set, is the insert's
// uuid-name (a named UUID other operations of the transaction refer to)
// or, when it is a real UUID, the UUID the row gets.
func (o *opBuilder) Create(rows ...model.Model) ([]ovsdb.Operation, error) {
	ops := make([]ovsdb.Operation, 0, len(rows))
	for _, m := range rows {
		table, info, err := o.table(m)
		if err != nil {
			return nil, err
		}
		var realUUID, namedUUID string
		u, err := info.FieldByColumn("_uuid")
		if err != nil {
			return nil, err
		}
		if s := u.(string); ovsdb.IsNamedUUID(s) {
			namedUUID = s
		} else if ovsdb.IsValidUUID(s) {
			realUUID = s
		}
		row, err := o.dbm.Mapper.NewRow(info)
		if err != nil {
			return nil, err
		}
		delete(row, "_uuid")
		ops = append(ops, ovsdb.Operation{Op: ovsdb.OperationInsert, Table: table, Row: row, UUID: realUUID, UUIDName: namedUUID})
	}
	return ops, nil
}

// Where selects one row by its UUID.
func (o *opBuilder) Where(m model.Model) rowOps { return rowOps{o: o, m: m} }

// rowOps are the operations on one row.
type rowOps struct {
	o *opBuilder
	m model.Model
}

func (r rowOps) where() (string, *mapperInfo, []ovsdb.Condition, error) {
	table, info, err := r.o.table(r.m)
	if err != nil {
		return "", nil, nil, err
	}
	u, err := info.FieldByColumn("_uuid")
	if err != nil {
		return "", nil, nil, err
	}
	uuid := u.(string)
	if !ovsdb.IsValidUUID(uuid) {
		return "", nil, nil, fmt.Errorf("%s: operation on a row without a UUID (%q)", table, uuid)
	}
	return table, info, []ovsdb.Condition{ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ovsdb.UUID{GoUUID: uuid})}, nil
}

// Update sets the named columns (pointers to fields of m) of the row to
// m's values.
func (r rowOps) Update(m model.Model, fields ...any) ([]ovsdb.Operation, error) {
	if len(fields) == 0 {
		return nil, errors.New("update: no columns named")
	}
	table, _, where, err := r.where()
	if err != nil {
		return nil, err
	}
	info, err := r.o.dbm.NewModelInfo(m)
	if err != nil {
		return nil, err
	}
	ts := r.o.dbm.Schema.Table(table)
	for _, f := range fields {
		col, err := info.ColumnByPtr(f)
		if err != nil {
			return nil, err
		}
		if cs := ts.Column(col); cs == nil || !cs.Mutable() || col == "_uuid" {
			return nil, fmt.Errorf("update: column %s of %s cannot be updated", col, table)
		}
	}
	row, err := r.o.dbm.Mapper.NewRow(info, fields...)
	if err != nil {
		return nil, err
	}
	return []ovsdb.Operation{{Op: ovsdb.OperationUpdate, Table: table, Row: row, Where: where}}, nil
}

// Delete deletes the row.
func (r rowOps) Delete() ([]ovsdb.Operation, error) {
	table, _, where, err := r.where()
	if err != nil {
		return nil, err
	}
	return []ovsdb.Operation{{Op: ovsdb.OperationDelete, Table: table, Where: where}}, nil
}
