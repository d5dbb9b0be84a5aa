// cloak: keeping secret memory out of swap and core dumps.
//
// lock_memory pins the pages of a range in RAM (mlock) and, on Linux, leaves
// them out of core dumps (madvise MADV_DONTDUMP). Pages are counted: a page
// two locked ranges share (small heap allocations do) stays locked until the
// last of them is released, so releasing one secret never unlocks another.
// Locking is best effort: an operating system that refuses (RLIMIT_MEMLOCK,
// commonly 8 MiB for an unprivileged process; no POSIX mlock) makes
// lock_memory return false, and nothing else changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define CLOAK_HAS_MLOCK 1
#else
#define CLOAK_HAS_MLOCK 0
#endif

namespace cloak::inline v0::core {

namespace detail {

struct PageLocks {
    std::mutex mutex;
    std::unordered_map<std::uintptr_t, std::size_t> counts;  // page address -> ranges
};

inline PageLocks& page_locks() {
    static PageLocks instance;
    return instance;
}

inline std::uintptr_t page_size() noexcept {
#if CLOAK_HAS_MLOCK
    static const auto size = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    return size;
#else
    return 4096;
#endif
}

// Drops one count of each page in [first, last); unlocks the pages that reach 0.
inline void release_pages(PageLocks& locks, std::uintptr_t first, std::uintptr_t last) noexcept {
    for (std::uintptr_t page = first; page < last; page += page_size()) {
        const auto found = locks.counts.find(page);
        if (found == locks.counts.end() || --found->second != 0) {
            continue;
        }
        locks.counts.erase(found);
#if CLOAK_HAS_MLOCK
        auto* address = reinterpret_cast<void*>(page);
#ifdef MADV_DODUMP
        (void)madvise(address, page_size(), MADV_DODUMP);
#endif
        (void)munlock(address, page_size());
#endif
    }
}

}  // namespace detail

/// Locks the pages holding [data, data + bytes) in RAM and leaves them out of
/// core dumps. Best effort.
/// @returns true when every page is locked; false (and nothing locked) when the
///          operating system refuses or the range is empty.
inline bool lock_memory(const void* data, std::size_t bytes) noexcept {
#if CLOAK_HAS_MLOCK
    if (data == nullptr || bytes == 0) {
        return false;
    }
    const std::uintptr_t size = detail::page_size();
    const auto begin = reinterpret_cast<std::uintptr_t>(data);
    const std::uintptr_t first = begin / size * size;
    const std::uintptr_t last = (begin + bytes + size - 1) / size * size;
    detail::PageLocks& locks = detail::page_locks();
    const std::lock_guard guard(locks.mutex);
    std::uintptr_t page = first;
    try {
        for (; page < last; page += size) {
            std::size_t& count = locks.counts[page];
            if (count == 0) {
                auto* address = reinterpret_cast<void*>(page);
                if (mlock(address, size) != 0) {
                    locks.counts.erase(page);
                    break;
                }
#ifdef MADV_DONTDUMP
                (void)madvise(address, size, MADV_DONTDUMP);
#endif
            }
            ++count;
        }
    } catch (...) {  // the map could not grow
    }
    if (page != last) {
        detail::release_pages(locks, first, page);
        return false;
    }
    return true;
#else
    (void)data;
    (void)bytes;
    return false;
#endif
}

/// Releases a range locked by lock_memory(data, bytes) (call it before the
/// memory is freed); pages another locked range shares stay locked.
inline void unlock_memory(const void* data, std::size_t bytes) noexcept {
    if (data == nullptr || bytes == 0) {
        return;
    }
    const std::uintptr_t size = detail::page_size();
    const auto begin = reinterpret_cast<std::uintptr_t>(data);
    detail::PageLocks& locks = detail::page_locks();
    const std::lock_guard guard(locks.mutex);
    detail::release_pages(locks, begin / size * size, (begin + bytes + size - 1) / size * size);
}

/// Pages locked through lock_memory now (for tests and diagnostics).
[[nodiscard]] inline std::size_t locked_page_count() noexcept {
    detail::PageLocks& locks = detail::page_locks();
    const std::lock_guard guard(locks.mutex);
    return locks.counts.size();
}

}  // namespace cloak::inline v0::core
