//! The RDB format: constants shared by the writer (`encode`) and the reader
//! (`decode`), and the packed blobs stored inside it (`packed`). Files are
//! written as Redis 7.0 writes them (RDB version 10); the reader accepts every
//! version from 1 to 12 (Redis 2.x to 7.4).

pub mod decode;
pub mod encode;
pub mod packed;
pub mod stream;

/// The version ferrokv writes (Redis 7.0's), and the newest one it reads.
pub const RDB_VERSION: u16 = 10;
pub const RDB_VERSION_MAX_READ: u32 = 12;

// Value types.
pub const TYPE_STRING: u8 = 0;
pub const TYPE_LIST: u8 = 1;
pub const TYPE_SET: u8 = 2;
pub const TYPE_ZSET: u8 = 3;
pub const TYPE_HASH: u8 = 4;
pub const TYPE_ZSET_2: u8 = 5;
pub const TYPE_MODULE_PRE_GA: u8 = 6;
pub const TYPE_MODULE_2: u8 = 7;
pub const TYPE_HASH_ZIPMAP: u8 = 9;
pub const TYPE_LIST_ZIPLIST: u8 = 10;
pub const TYPE_SET_INTSET: u8 = 11;
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
pub const TYPE_HASH_ZIPLIST: u8 = 13;
pub const TYPE_LIST_QUICKLIST: u8 = 14;
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
pub const TYPE_HASH_LISTPACK: u8 = 16;
pub const TYPE_ZSET_LISTPACK: u8 = 17;
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
pub const TYPE_SET_LISTPACK: u8 = 20;
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;
/// Redis 7.4's hashes with field expiration (pre-release and final forms).
pub const TYPE_HASH_METADATA_PRE_GA: u8 = 22;
pub const TYPE_HASH_LISTPACK_EX: u8 = 25;

// Opcodes.
pub const OP_SLOT_INFO: u8 = 244;
pub const OP_FUNCTION2: u8 = 245;
pub const OP_FUNCTION_PRE_GA: u8 = 246;
pub const OP_MODULE_AUX: u8 = 247;
pub const OP_IDLE: u8 = 248;
pub const OP_FREQ: u8 = 249;
pub const OP_AUX: u8 = 250;
pub const OP_RESIZEDB: u8 = 251;
pub const OP_EXPIRETIME_MS: u8 = 252;
pub const OP_EXPIRETIME: u8 = 253;
pub const OP_SELECTDB: u8 = 254;
pub const OP_EOF: u8 = 255;

// Special string encodings (after a length byte `11xxxxxx`).
pub const ENC_INT8: u8 = 0;
pub const ENC_INT16: u8 = 1;
pub const ENC_INT32: u8 = 2;
pub const ENC_LZF: u8 = 3;

/// Quicklist node containers (RDB type 18).
pub const QUICKLIST_PLAIN: u64 = 1;
pub const QUICKLIST_PACKED: u64 = 2;

/// Redis's CRC64 (Jones polynomial, reflected), over everything before the checksum.
pub static CRC64: crc::Crc<u64, crc::Table<16>> = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

/// The name `redis-check-rdb` gives an RDB value type.
pub fn type_name(t: u8) -> &'static str {
    const NAMES: [&str; 26] = [
        "string",
        "list-linked",
        "set-hashtable",
        "zset-v1",
        "hash-hashtable",
        "zset-v2",
        "module-pre-release",
        "module-value",
        "",
        "hash-zipmap",
        "list-ziplist",
        "set-intset",
        "zset-ziplist",
        "hash-ziplist",
        "quicklist",
        "stream",
        "hash-listpack",
        "zset-listpack",
        "quicklist-v2",
        "stream-v2",
        "set-listpack",
        "stream-v3",
        "hash-hashtable-md-prerelease",
        "hash-listpack-md-prerelease",
        "hash-hashtable-md",
        "hash-listpack-md",
    ];
    NAMES.get(t as usize).copied().unwrap_or("unknown")
}

/// The conversion thresholds a loaded value is given (as Redis converts on load).
#[derive(Clone, Copy)]
pub struct Limits {
    pub hash: crate::storage::hash::Limits,
    pub zset: crate::storage::zset::Limits,
    pub max_intset: usize,
    pub list_fill: i32,
    /// `list-compress-depth`.
    pub list_depth: i32,
}

impl Limits {
    pub fn from_config(c: &crate::config::Config) -> Limits {
        Limits {
            hash: crate::storage::hash::Limits {
                max_entries: c.hash_max_listpack_entries,
                max_value: c.hash_max_listpack_value,
            },
            zset: crate::storage::zset::Limits {
                entries: c.zset_max_listpack_entries,
                value: c.zset_max_listpack_value,
            },
            max_intset: c.set_max_intset_entries,
            list_fill: c.list_max_listpack_size,
            list_depth: c.list_compress_depth,
        }
    }
}
