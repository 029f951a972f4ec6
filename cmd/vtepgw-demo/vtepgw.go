package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	_ "github.com/vtepgw/vtepgw/drivers/hwvtep" // registers "hwvtep"
	"github.com/vtepgw/vtepgw/sbsync"
	"github.com/vtepgw/vtepgw/vtep"
)

// gateway is vtepgw running in this process: the same pieces, wired the
// same way, as the daemon's runSwitch (cmd/vtepgw/app): one SB client, one
// hwvtep session, one Southbound and one reconcile Gateway.
type gateway struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	session drivers.Session
	south   *sbsync.Southbound
}

// keyBuffer holds keys reported before the gateway exists (as the
// daemon's does).
type keyBuffer struct {
	mu      sync.Mutex
	pending []vtep.Key
	gw      *vtep.Gateway
}

func (b *keyBuffer) notify(k vtep.Key) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gw != nil {
		b.gw.Enqueue(k)
		return
	}
	b.pending = append(b.pending, k)
}

func (b *keyBuffer) attach(gw *vtep.Gateway) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gw = gw
	for _, k := range b.pending {
		gw.Enqueue(k)
	}
	b.pending = nil
}

// startGateway connects to both databases and starts reconciling. It
// returns once both are connected.
func startGateway(parent context.Context, sbEndpoint, vtepEndpoint string, log *slog.Logger, onBatch func(vtep.BatchStats)) (*gateway, error) {
	ctx, cancel := context.WithCancel(parent)
	g := &gateway{cancel: cancel}
	fail := func(err error) (*gateway, error) {
		g.stop()
		return nil, err
	}
	sb, err := sbsync.New(sbsync.Options{
		Endpoints: []string{sbEndpoint},
		Logger:    log.With("component", "southbound"),
	})
	if err != nil {
		return fail(err)
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		_ = sb.Run(ctx)
	}()

	const name = "demo-switch"
	swlog := log.With("switch", name, "driver", "hwvtep")
	conn, err := drivers.NewConnector("hwvtep", drivers.Params{Name: name, Endpoints: []string{vtepEndpoint}, Logger: swlog})
	if err != nil {
		return fail(err)
	}
	var buf keyBuffer
	cctx, ccancel := context.WithTimeout(ctx, 15*time.Second)
	defer ccancel()
	s, err := conn.Connect(cctx, buf.notify)
	if err != nil {
		return fail(fmt.Errorf("switch: %w", err))
	}
	g.session = s
	if err := sb.WaitConnected(cctx); err != nil {
		return fail(err)
	}
	g.south = sb.NewSouthbound(sbsync.SouthboundOptions{GatewayID: s.ID(), Logger: swlog}, buf.notify)
	gw := vtep.NewGateway(s, g.south, vtep.GatewayOptions{Name: name, Logger: swlog, OnBatch: onBatch})
	buf.attach(gw)
	gw.Resync()
	swlog.Info("switch connected", "id", s.ID())
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		_ = gw.Run(ctx)
	}()
	return g, nil
}

// stop ends vtepgw as SIGTERM does: all state stays in both databases.
func (g *gateway) stop() {
	g.cancel()
	g.wg.Wait()
	if g.south != nil {
		g.south.Close()
	}
	if g.session != nil {
		_ = g.session.Close()
	}
}
