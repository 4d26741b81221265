package io.distcache.jcache;

import java.lang.management.ManagementFactory;
import javax.cache.CacheException;
import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.MBeanRegistrationException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.NotCompliantMBeanException;
import javax.management.ObjectName;

/*
 * Design: JSR-107 names a cache's MXBeans "javax.cache:type=CacheConfiguration|CacheStatistics,
 * CacheManager=<the manager's URI>,Cache=<the cache name>" in the platform MBean server, with the
 * characters an ObjectName value cannot hold (':', '=', ',', newline) replaced by '.'. A bean left
 * registered under the same name (a cache of the same name recreated) is replaced.
 */

/** Registers and unregisters a cache's configuration and statistics MXBeans. */
final class JmxRegistry {
  enum Kind {
    CacheConfiguration,
    CacheStatistics
  }

  private JmxRegistry() {}

  static ObjectName name(Kind kind, String managerUri, String cacheName) {
    try {
      return new ObjectName("javax.cache:type=" + kind + ",CacheManager=" + safe(managerUri) + ",Cache=" + safe(cacheName));
    } catch (MalformedObjectNameException e) {
      throw new CacheException("cannot name the " + kind + " MXBean of cache " + cacheName, e);
    }
  }

  static String safe(String s) {
    return s == null ? "" : s.replaceAll(":|=|\n|,", ".");
  }

  static void register(Object bean, ObjectName name) {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    try {
      if (server.isRegistered(name)) {
        server.unregisterMBean(name);
      }
      server.registerMBean(bean, name);
    } catch (InstanceAlreadyExistsException | MBeanRegistrationException | NotCompliantMBeanException
        | InstanceNotFoundException e) {
      throw new CacheException("cannot register MXBean " + name, e);
    }
  }

  static void unregister(ObjectName name) {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    try {
      if (server.isRegistered(name)) {
        server.unregisterMBean(name);
      }
    } catch (InstanceNotFoundException e) {
      // Unregistered meanwhile: the goal is reached.
    } catch (MBeanRegistrationException e) {
      throw new CacheException("cannot unregister MXBean " + name, e);
    }
  }
}
