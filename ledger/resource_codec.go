package ledger

import (
	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// Resources are the hot entity (one changes with almost every line item), so they are stored
// with the binary codec rather than JSON.

const resourceCodecVersion = 1

func encodeResource(r *Resource) []byte {
	e := encoder{b: make([]byte, 0, 160)}
	e.u8(resourceCodecVersion)
	e.str(r.ID)
	e.str(r.Department)
	e.str(r.Project)
	e.str(r.Provider)
	e.str(r.Item)
	e.str(string(r.Kind))
	e.str(r.QuotaClass)
	e.str(string(r.Billing))
	e.str(r.Quantity.String())
	e.tm(r.Opened)
	e.tm(r.LastTime)
	e.tm(r.Expires)
	e.boolean(r.Closed)
	if r.Expired { // written only then, so resources stored before keep their encoding
		e.boolean(true)
		e.dec(r.HeldAtExpiry)
	}
	return e.b
}

func decodeResource(p []byte) (*Resource, error) {
	d := decoder{b: p}
	if v := d.u8(); d.err == nil && v != resourceCodecVersion {
		return nil, Errf(errcode.Malformed, "", "resource codec version %d", v)
	}
	r := &Resource{ID: d.str(MaxIDLen), Department: d.str(MaxIDLen), Project: d.str(MaxIDLen), Provider: d.str(MaxIDLen),
		Item: d.str(MaxIDLen), Kind: ResourceKind(d.str(MaxIDLen)), QuotaClass: d.str(MaxIDLen), Billing: Billing(d.str(MaxIDLen))}
	r.Quantity = d.dec()
	r.Opened, r.LastTime, r.Expires = d.tm(), d.tm(), d.tm()
	r.Closed = d.boolean()
	if d.err == nil && len(d.b) > 0 {
		r.Expired = d.boolean()
		r.HeldAtExpiry = d.dec()
	}
	d.done()
	if d.err != nil {
		return nil, d.err
	}
	_ = calendar.Shanghai
	return r, nil
}
