package io.distcache.examples.books;

import java.io.Serializable;

/** A cached value: Serializable for the starter's default codec (Java serialization). */
public record Book(String isbn, String title, long loadedBy) implements Serializable {}
