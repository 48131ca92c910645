//! The cache file's format: a versioned header (format, djmig's version,
//! the parser's fingerprint), the entries (postcard-encoded parses keyed by
//! blob id and mode), and a checksum trailer.

use std::io::{self, Write};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use super::checksum::{checksum, Checksum};
use super::{IdMap, Key, Loaded, ParseMode, MAX_ENTRIES};
use crate::core::pyparse::ParsedMigration;

pub(super) const MAGIC: &[u8; 8] = b"DJMIGPC\0";
/// 2: entries that are no pair of strings are kept (`DepEntry::Value`), and
/// problems Python raises on are `FileProblemKind::Invalid`.
const FORMAT_VERSION: u32 = 2;
pub(super) const TRAILER: usize = 8;

/// Write a cache file to `out`: the header, `count` entries (those `kept`
/// from the file read, still encoded, then the `fresh` ones) and the
/// checksum trailer. Entries are encoded one at a time and written as they
/// are, the checksum taken on the way: the cache is never held whole a
/// second time.
pub(super) fn write_file<'a, W: Write>(
    out: &mut W,
    fingerprint: u64,
    count: u32,
    kept: impl IntoIterator<Item = (&'a Key, &'a [u8])>,
    fresh: impl IntoIterator<Item = (&'a Key, &'a ParsedMigration)>,
) -> io::Result<()> {
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    let mut sum = Checksum::new();
    let mut put = |out: &mut W, b: &[u8]| {
        sum.update(b);
        out.write_all(b)
    };
    put(out, MAGIC)?;
    put(out, &FORMAT_VERSION.to_le_bytes())?;
    put(out, &fingerprint.to_le_bytes())?;
    put(out, &(version.len() as u16).to_le_bytes())?;
    put(out, version)?;
    put(out, &count.to_le_bytes())?;
    for (id, bytes) in kept {
        put(out, id)?;
        put(out, &(bytes.len() as u32).to_le_bytes())?;
        put(out, bytes)?;
    }
    let mut body = Vec::new();
    for (id, p) in fresh {
        body.clear();
        body = postcard::to_extend(p, body).map_err(io::Error::other)?;
        put(out, id)?;
        put(out, &(body.len() as u32).to_le_bytes())?;
        put(out, &body)?;
    }
    out.write_all(&sum.finish().to_le_bytes())
}

/// An entry's parse, decoded; `None` when it does not decode.
pub(super) fn decode(bytes: &[u8]) -> Option<ParsedMigration> {
    postcard::from_bytes::<ParsedMigration>(bytes).ok()
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("truncated")?;
        let s = self.data.get(self.pos..end).ok_or("truncated")?;
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(w))
    }
}

/// The entries of a cache file, checked whole; `Err` says why not.
pub(super) fn index(data: &[u8], fingerprint: u64) -> Result<IdMap<Loaded>, String> {
    let header = MAGIC.len() + 4 + 8 + 2;
    if data.len() < header + 4 + TRAILER {
        return Err("truncated".into());
    }
    let body = &data[..data.len() - TRAILER];
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&data[data.len() - TRAILER..]);
    if &data[..MAGIC.len()] != MAGIC {
        return Err("not a djmig cache file".into());
    }
    if checksum(body) != u64::from_le_bytes(sum) {
        return Err("checksum mismatch (truncated or corrupt)".into());
    }
    let mut cur = Cursor {
        data: body,
        pos: MAGIC.len(),
    };
    if cur.u32()? != FORMAT_VERSION {
        return Err("another format version".into());
    }
    let fp = cur.u64()?;
    let vlen = cur.u16()? as usize;
    let version = cur.take(vlen)?;
    if version != env!("CARGO_PKG_VERSION").as_bytes() {
        return Err(format!(
            "written by djmig {}",
            String::from_utf8_lossy(version)
        ));
    }
    if fp != fingerprint {
        return Err("written by another build of the parser".into());
    }
    let count = cur.u32()? as usize;
    let mut map = IdMap::default();
    map.reserve(count.min(MAX_ENTRIES * 2));
    for _ in 0..count {
        let mut id: Key = [0u8; 21];
        id.copy_from_slice(cur.take(21)?);
        if id[20] > ParseMode::Full as u8 {
            return Err("bad entry".into());
        }
        let len = cur.u32()? as usize;
        let start = cur.pos;
        cur.take(len)?;
        map.insert(
            id,
            Loaded {
                start,
                len,
                parsed: OnceLock::new(),
                used: AtomicBool::new(false),
            },
        );
    }
    let pos = cur.pos;
    if pos != body.len() {
        return Err("trailing bytes".into());
    }
    Ok(map)
}

/// A fingerprint of the parser's output and of the encoding (so a file
/// written by a build whose parser differs is not trusted), and whether the
/// encoding round-trips at all.
pub(crate) fn parser_fingerprint() -> (u64, bool) {
    static FP: OnceLock<(u64, bool)> = OnceLock::new();
    *FP.get_or_init(|| {
        let mut bytes = Vec::new();
        let mut ok = true;
        for mode in [ParseMode::Graph, ParseMode::Full] {
            let parsed = mode.parse(SAMPLE.as_bytes());
            match postcard::to_stdvec(&parsed) {
                Ok(b) => {
                    ok &= postcard::from_bytes::<ParsedMigration>(&b).is_ok_and(|p| p == parsed);
                    bytes.extend_from_slice(&b);
                }
                Err(_) => ok = false,
            }
        }
        (checksum(&bytes), ok)
    })
}

const SAMPLE: &str = r#"# Generated by Django 4.2 on 2024-01-01 12:00
from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):

    initial = True
    atomic = False

    replaces = [("shop", "0001_initial"), ("shop", "0002_auto")]

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("shop", "0001_" "initial"),
    ]

    run_before = [("other", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["-id"]},
        ),
        migrations.AddField(model_name="order", name="total", field=models.DecimalField(max_digits=10, decimal_places=2)),
        migrations.RenameField("order", "total", "amount"),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RunSQL(sql=["SELECT 1"], reverse_sql=f"SELECT {2}"),
        SOME_CONSTANT,
    ]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_round_trips() {
        let (a, ok) = parser_fingerprint();
        assert!(ok, "ParsedMigration must round-trip through postcard");
        assert_ne!(a, 0);
        assert_ne!(checksum(b"a"), checksum(b"b"));
        assert_ne!(checksum(b""), checksum(&[0]));
        assert_ne!(checksum(&[0; 32]), checksum(&[0; 33]));
    }
}
