//! `Sock`: a non-blocking stream socket (TCP or unix) driven by tokio's reactor
//! with explicit readiness control. After a read that did not fill the buffer
//! the socket is known to be drained, so readiness is cleared at once instead of
//! paying one more `read` that would only return EAGAIN: at pipeline 1 that is
//! one system call saved per request. Readiness cleared this way cannot lose a
//! wakeup: tokio only clears it if no new readiness event arrived since the
//! guard was taken.

use bytes::BytesMut;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use tokio::io::unix::AsyncFd;

pub struct Sock {
    fd: AsyncFd<OwnedFd>,
}

impl Sock {
    /// Takes over a connected tokio TCP stream.
    pub fn from_tcp(s: tokio::net::TcpStream) -> io::Result<Sock> {
        let std = s.into_std()?;
        std.set_nonblocking(true)?;
        Self::register(OwnedFd::from(std))
    }

    /// Takes over a connected tokio unix stream.
    pub fn from_unix(s: tokio::net::UnixStream) -> io::Result<Sock> {
        let std = s.into_std()?;
        std.set_nonblocking(true)?;
        Self::register(OwnedFd::from(std))
    }

    fn register(fd: OwnedFd) -> io::Result<Sock> {
        // SAFETY: an `OwnedFd` is a valid open descriptor that it alone closes, on
        // drop; it is moved into the `AsyncFd` and dropped with it, so the descriptor
        // stays open and the same for the `AsyncFd`'s whole life, and `as_raw_fd`
        // always returns it.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Sock { fd })
    }

    /// Reads what the socket has into the spare capacity of `buf` (which must
    /// have some); returns 0 at end of stream.
    pub async fn read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            let spare = buf.spare_capacity_mut();
            let want = spare.len();
            let ptr = spare.as_mut_ptr() as *mut libc::c_void;
            let res = guard.try_io(|fd| {
                // SAFETY: `fd` is the open socket owned by `self.fd`; `ptr` points to
                // `want` bytes of `buf`'s spare capacity, which nothing else borrows.
                let n = unsafe { libc::recv(fd.get_ref().as_raw_fd(), ptr, want, 0) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match res {
                Ok(Ok(n)) => {
                    // SAFETY: the kernel wrote `n <= want` bytes at the start of the
                    // spare capacity, so they are initialised.
                    unsafe { buf.set_len(buf.len() + n) };
                    if n > 0 && n < want {
                        guard.clear_ready();
                    }
                    return Ok(n);
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes all of `data`, waiting for the socket to drain as needed.
    pub async fn write_all(&self, data: &[u8]) -> io::Result<()> {
        self.write(data, None, None).await
    }

    /// Writes all of `data`; while the peer is not reading (its window is full)
    /// keeps reading its requests into `rbuf`, up to `limit` bytes, so that a
    /// client that writes a whole pipeline before reading any reply cannot
    /// deadlock with us. Fails when the peer closes.
    pub async fn write_all_reading(
        &self,
        data: &[u8],
        rbuf: &mut BytesMut,
        limit: usize,
        soft: Option<(usize, std::time::Duration)>,
    ) -> io::Result<()> {
        self.write(data, Some((rbuf, limit)), soft).await
    }

    /// Writes what the socket takes of `data` now, without waiting; returns
    /// how many bytes went out.
    pub fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        let mut sent = 0;
        while sent < data.len() {
            match send(self.fd.get_ref(), &data[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(sent)
    }

    /// Writes all of `data`, reading meanwhile when `reading` allows. With
    /// `soft` (the soft output limit, bytes and time), fails with `TimedOut`
    /// once what is left to write stayed above the bytes for longer than the
    /// time.
    async fn write(
        &self,
        mut data: &[u8],
        mut reading: Option<(&mut BytesMut, usize)>,
        soft: Option<(usize, std::time::Duration)>,
    ) -> io::Result<()> {
        let mut over_since: Option<tokio::time::Instant> = None;
        loop {
            // Optimistic first attempt: a socket is almost always writable.
            data = &data[self.try_write(data)?..];
            if data.is_empty() {
                return Ok(());
            }
            if let Some((bytes, _)) = soft {
                if data.len() > bytes {
                    over_since.get_or_insert_with(tokio::time::Instant::now);
                } else {
                    over_since = None;
                }
            }
            let deadline = over_since.zip(soft).map(|(t, (_, d))| t + d);
            let read_into = match reading.as_mut() {
                Some((rbuf, limit)) if rbuf.len() < *limit => {
                    if rbuf.capacity() - rbuf.len() < 1024 {
                        rbuf.reserve(16 * 1024);
                    }
                    Some(&mut **rbuf)
                }
                _ => None,
            };
            let can_read = read_into.is_some();
            let mut scratch = BytesMut::new();
            let rbuf = read_into.unwrap_or(&mut scratch);
            tokio::select! {
                guard = self.fd.writable() => {
                    let mut guard = guard?;
                    match guard.try_io(|fd| send(fd.get_ref(), data)) {
                        Ok(Ok(n)) => data = &data[n..],
                        Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                        Ok(Err(e)) => return Err(e),
                        Err(_would_block) => {}
                    }
                }
                r = self.read_buf(rbuf), if can_read => {
                    if r? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                    return Err(io::ErrorKind::TimedOut.into());
                }
            }
        }
    }
}

fn send(fd: &OwnedFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `fd` is an open socket; `data` is a live slice of `data.len()` bytes.
    // MSG_NOSIGNAL turns a write to a closed peer into EPIPE instead of SIGPIPE.
    let n = unsafe { libc::send(fd.as_raw_fd(), data.as_ptr() as *const libc::c_void, data.len(), libc::MSG_NOSIGNAL) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
