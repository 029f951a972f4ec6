module example.com/acme-vtep-driver

go 1.26.8

require github.com/vtepgw/vtepgw v0.0.0

// This example lives inside the vtepgw repository and builds against the
// checkout around it. A vendor's own module drops this line and requires a
// released version of github.com/vtepgw/vtepgw.
replace github.com/vtepgw/vtepgw => ../..
