package baton.core.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** The allocation-free HMAC-SHA-256 against RFC 4231's test vectors and against the JDK's HMAC. */
class HeartbeatMacTest {
    static byte[] mac(byte[] key, byte[] data) {
        byte[] out = new byte[32];
        new HeartbeatMac(key).mac(data, 0, data.length, out, 0);
        return out;
    }

    @Test
    void rfc4231TestCase1() {
        byte[] key = new byte[20];
        Arrays.fill(key, (byte) 0x0b);
        assertThat(HexFormat.of().formatHex(mac(key, "Hi There".getBytes(StandardCharsets.US_ASCII))))
                .isEqualTo("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    }

    @Test
    void rfc4231TestCase2() {
        assertThat(HexFormat.of().formatHex(mac("Jefe".getBytes(StandardCharsets.US_ASCII),
                "what do ya want for nothing?".getBytes(StandardCharsets.US_ASCII))))
                .isEqualTo("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    @Test
    void agreesWithTheJdkOnRandomKeysAndMessagesAndReusesItsState() throws Exception {
        Random random = new Random(20261123);
        for (int round = 0; round < 200; round++) {
            byte[] key = new byte[1 + random.nextInt(64)];
            random.nextBytes(key);
            HeartbeatMac ours = new HeartbeatMac(key);
            Mac jdk = Mac.getInstance("HmacSHA256");
            jdk.init(new SecretKeySpec(key, "HmacSHA256"));
            for (int message = 0; message < 5; message++) { // the same instance, again and again
                byte[] data = new byte[random.nextInt(300)];
                random.nextBytes(data);
                int offset = data.length == 0 ? 0 : random.nextInt(data.length);
                int length = data.length - offset;
                byte[] out = new byte[40];
                ours.mac(data, offset, length, out, 8);
                jdk.update(data, offset, length);
                assertThat(Arrays.copyOfRange(out, 8, 40)).isEqualTo(jdk.doFinal());
            }
        }
    }
}
