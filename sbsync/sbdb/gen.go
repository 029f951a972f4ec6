// Package sbdb holds the OVN_Southbound models vtepgw uses. They are generated
// from ovn-sb-min.ovsschema: Debian's OVN 23.03 schema (20.27.0) pruned to the
// tables and columns vtepgw reads or writes, so the models connect to every
// server that has at least these columns. Regenerate with `go generate`.
package sbdb

//go:generate sh -c "python3 ../../hack/prune-schema.py /usr/share/ovn/ovn-sb.ovsschema SB_Global:options,external_ids Chassis:name,hostname,encaps,vtep_logical_switches,other_config,external_ids Encap:type,ip,options,chassis_name Datapath_Binding:tunnel_key,external_ids Port_Binding:logical_port,type,options,datapath,tunnel_key,chassis,mac,up,encap FDB:mac,dp_key,port_key Multicast_Group:datapath,name,tunnel_key,ports IGMP_Group:address,datapath,chassis,ports > ovn-sb-min.ovsschema"
//go:generate go tool modelgen -extended -p sbdb -o . ovn-sb-min.ovsschema
