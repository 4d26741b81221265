package io.distcache.examples.books;

import java.util.concurrent.atomic.AtomicLong;
import org.springframework.cache.annotation.CacheEvict;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.stereotype.Service;

/** Looks books up slowly (a counter stands for the database); the cache spares repeated lookups. */
@Service
public class BookService {
  private final AtomicLong lookups = new AtomicLong();

  @Cacheable("books")
  public Book find(String isbn) {
    long n = lookups.incrementAndGet();
    return new Book(isbn, "Title of " + isbn, n);
  }

  @Cacheable("covers")
  public String cover(String isbn) {
    lookups.incrementAndGet();
    return "cover-" + isbn;
  }

  @CacheEvict(cacheNames = "books", key = "#isbn")
  public void changed(String isbn) {}

  @CacheEvict(cacheNames = "books", allEntries = true)
  public void reloadAll() {}

  /** How many lookups reached the "database". */
  public long lookups() {
    return lookups.get();
  }
}
