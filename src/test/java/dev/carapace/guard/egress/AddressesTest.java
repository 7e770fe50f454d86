package dev.carapace.guard.egress;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AddressesTest {

    @ParameterizedTest
    @CsvSource({"127.0.0.1,loopback", "169.254.169.254,cloud metadata", "fd00:ec2::254,cloud metadata",
            "10.1.2.3,private", "172.31.0.1,private", "192.168.0.1,private", "100.64.0.1,carrier-grade NAT",
            "169.254.0.1,link-local", "0.0.0.0,unspecified", "::,unspecified", "::1,loopback", "fe80::1,link-local",
            "fec0::1,site-local", "fc00::1,unique local (private)", "ff02::1,multicast", "224.0.0.251,multicast",
            "::127.0.0.1,IPv4-compatible IPv6", "2002:a00:1::,6to4 of private", "64:ff9b::a00:1,not global unicast"})
    void internalAddressesAreNamed(String address, String kind) throws Exception {
        assertThat(Addresses.blockedKind(InetAddress.getByName(address))).isEqualTo(kind);
    }

    @Test
    void publicAddressesPass() throws Exception {
        for (String a : List.of("8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "2002:808:808::")) {
            assertThat(Addresses.blockedKind(InetAddress.getByName(a))).as(a).isNull();
        }
    }

    @Test
    void cidrBlocksMatchByPrefix() throws Exception {
        Addresses.Cidr ten = Addresses.Cidr.parse("10.0.0.0/8");
        assertThat(ten.contains(InetAddress.getByName("10.255.0.1"))).isTrue();
        assertThat(ten.contains(InetAddress.getByName("11.0.0.1"))).isFalse();
        assertThat(Addresses.Cidr.parse("172.16.0.0/12").contains(InetAddress.getByName("172.31.9.9"))).isTrue();
        assertThat(Addresses.Cidr.parse("fd00::/8").contains(InetAddress.getByName("fd12::1"))).isTrue();
        assertThat(Addresses.Cidr.parse("127.0.0.1").contains(InetAddress.getByName("127.0.0.2"))).isFalse();
        assertThatThrownBy(() -> Addresses.Cidr.parse("10.0.0.0/33")).hasMessageContaining("prefix length");
        assertThatThrownBy(() -> Addresses.Cidr.parse("0x7f.1/8")).hasMessageContaining("not a CIDR");
        assertThatThrownBy(() -> Addresses.Cidr.parse("example.com/8")).hasMessageContaining("not a CIDR");
    }
}
