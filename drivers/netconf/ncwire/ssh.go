package ncwire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshStream is an SSH channel plus the connection it runs on.
type sshStream struct {
	ssh.Channel
	conn io.Closer
}

func (s sshStream) Close() error {
	s.Channel.Close()
	return s.conn.Close()
}

// DialSSH opens a NETCONF session on the "netconf" SSH subsystem of addr.
// cfg carries authentication and host-key verification (use
// knownhosts.New; never ssh.InsecureIgnoreHostKey outside tests).
// postHello, when non-zero, waits after the hello exchange: yuma123's
// netconfd stalls when the first rpc follows the hello immediately.
func DialSSH(ctx context.Context, addr string, cfg *ssh.ClientConfig, postHello time.Duration) (*Client, error) {
	d := net.Dialer{Timeout: cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("netconf: dial %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	conn, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("netconf: ssh handshake with %s: %w", addr, err)
	}
	client := ssh.NewClient(conn, chans, reqs)
	sess, err := client.NewSession()
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("netconf: ssh session: %w", err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		client.Close()
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		client.Close()
		return nil, err
	}
	if err := sess.RequestSubsystem("netconf"); err != nil {
		client.Close()
		return nil, fmt.Errorf("netconf: subsystem request on %s: %w", addr, err)
	}
	rw := &pipeStream{r: stdout, w: stdin, close: func() error { sess.Close(); return client.Close() }}
	c, err := ClientHello(rw)
	if err != nil {
		rw.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	if postHello > 0 {
		time.Sleep(postHello)
	}
	return c, nil
}

type pipeStream struct {
	r     io.Reader
	w     io.WriteCloser
	close func() error
	once  sync.Once
}

func (p *pipeStream) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeStream) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeStream) Close() error {
	var err error
	p.once.Do(func() { err = p.close() })
	return err
}

// SSHServer serves NETCONF sessions on the "netconf" SSH subsystem.
type SSHServer struct {
	Config       *ssh.ServerConfig
	Capabilities []string
	Handler      Handler
	Logger       *slog.Logger
	sessionID    atomic.Int64
}

// Serve accepts connections on ln until ctx ends; it returns nil then.
func (s *SSHServer) Serve(ctx context.Context, ln net.Listener) error {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("netconf: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.serveConn(ctx, nc); err != nil {
				log.Debug("netconf session ended", "remote", nc.RemoteAddr().String(), "err", err)
			}
		}()
	}
}

func (s *SSHServer) serveConn(ctx context.Context, nc net.Conn) error {
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	conn, chans, reqs, err := ssh.NewServerConn(nc, s.Config)
	if err != nil {
		nc.Close()
		return fmt.Errorf("ssh handshake: %w", err)
	}
	_ = nc.SetDeadline(time.Time{})
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			return err
		}
		go func() {
			for req := range creqs {
				ok := req.Type == "subsystem" && len(req.Payload) >= 4 && string(req.Payload[4:]) == "netconf"
				_ = req.Reply(ok, nil)
				if ok {
					id := int(s.sessionID.Add(1))
					go func() {
						_ = Serve(ctx, sshStream{Channel: ch, conn: conn}, id, s.Capabilities, s.Handler)
					}()
				}
			}
		}()
	}
	return nil
}
