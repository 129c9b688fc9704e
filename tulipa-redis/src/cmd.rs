//! Commands: a name and its arguments, encoded as a RESP array of bulk strings.

/// A command to send: `cmd("XADD").arg("jobs").arg("*").arg("d").arg(payload)`.
///
/// Arguments are anything [`ToArg`]: strings, byte slices and integers.
/// Run it with [`Client::query`](crate::Client::query) or several at once with
/// [`Client::pipeline`](crate::Client::pipeline).
///
/// # Examples
///
/// ```
/// use tulipa_redis::cmd;
///
/// let c = cmd("SET").arg("k").arg(42);
/// assert_eq!(c.encoded(), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Cmd {
    args: usize,
    body: Vec<u8>,
}

/// Starts a command named `name`.
///
/// # Examples
///
/// ```
/// assert_eq!(tulipa_redis::cmd("PING").encoded(), b"*1\r\n$4\r\nPING\r\n");
/// ```
pub fn cmd(name: &str) -> Cmd {
    Cmd::default().arg(name)
}

impl Cmd {
    /// Appends one argument.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = tulipa_redis::cmd("GET").arg(b"key".as_slice());
    /// assert!(c.encoded().ends_with(b"$3\r\nkey\r\n"));
    /// ```
    pub fn arg<A: ToArg>(mut self, arg: A) -> Cmd {
        self.push(arg);
        self
    }

    /// Appends one argument in place.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut c = tulipa_redis::cmd("DEL");
    /// for k in ["a", "b"] { c.push(k); }
    /// assert!(c.encoded().starts_with(b"*3\r\n"));
    /// ```
    pub fn push<A: ToArg>(&mut self, arg: A) {
        arg.write_arg(&mut self.body);
        self.args += 1;
    }

    /// The command as it goes on the wire.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulipa_redis::cmd("X").encoded().len(), 11);
    /// ```
    pub fn encoded(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 16);
        self.write_to(&mut out);
        out
    }

    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        out.push(b'*');
        push_decimal(out, self.args as u64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }
}

/// A value that can be a command argument.
///
/// # Examples
///
/// ```
/// use tulipa_redis::ToArg;
/// let mut out = Vec::new();
/// 7u64.write_arg(&mut out);
/// assert_eq!(out, b"$1\r\n7\r\n");
/// ```
pub trait ToArg {
    /// Writes the argument as a RESP bulk string.
    fn write_arg(&self, out: &mut Vec<u8>);
}

/// `n` in decimal, on the stack: the digits are `buf[start..]`.
fn decimal(mut n: u64) -> ([u8; 20], usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return (buf, i);
        }
    }
}

/// Appends `n` in decimal without allocating.
fn push_decimal(out: &mut Vec<u8>, n: u64) {
    let (buf, start) = decimal(n);
    out.extend_from_slice(&buf[start..]);
}

fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'$');
    push_decimal(out, data.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

impl ToArg for &[u8] {
    fn write_arg(&self, out: &mut Vec<u8>) {
        bulk(out, self)
    }
}
impl ToArg for &Vec<u8> {
    fn write_arg(&self, out: &mut Vec<u8>) {
        bulk(out, self)
    }
}
impl ToArg for Vec<u8> {
    fn write_arg(&self, out: &mut Vec<u8>) {
        bulk(out, self)
    }
}
impl ToArg for &str {
    fn write_arg(&self, out: &mut Vec<u8>) {
        bulk(out, self.as_bytes())
    }
}
impl ToArg for String {
    fn write_arg(&self, out: &mut Vec<u8>) {
        bulk(out, self.as_bytes())
    }
}
impl ToArg for &String {
    fn write_arg(&self, out: &mut Vec<u8>) {
        bulk(out, self.as_bytes())
    }
}
macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn write_arg(&self, out: &mut Vec<u8>) {
                bulk(out, self.to_string().as_bytes())
            }
        }
    )*};
}
macro_rules! uint_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn write_arg(&self, out: &mut Vec<u8>) {
                let (buf, start) = decimal(*self as u64);
                bulk(out, &buf[start..])
            }
        }
    )*};
}
int_arg!(i32, i64);
uint_arg!(u32, u64, usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmd_decimal_lengths_and_integer_args_at_the_edges() {
        let c = cmd("X").arg(0u64).arg(u64::MAX).arg(-1i64).arg("");
        assert_eq!(
            c.encoded(),
            b"*5\r\n$1\r\nX\r\n$1\r\n0\r\n$20\r\n18446744073709551615\r\n$2\r\n-1\r\n$0\r\n\r\n"
        );
    }
}
